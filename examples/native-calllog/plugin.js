// Calls the built-in `exec` native module (runs `echo`, no shell) once per
// name, so `--calllog` records one js->host call each, plus the host->js
// call that ran the plugin. Input: { "names": ["ada", ...] }.
const exec = require('exec');

module.exports = function greet(input) {
  const names = (input && input.names) || ['world'];
  return names.map((name) => {
    const out = exec.run('echo', ['hello,', name]);
    if (out.status !== 0) throw new Error(`echo failed: ${out.stderr}`);
    return out.stdout.trim();
  });
};

// Denied on purpose: `ls` is not in --allow-exec, so this exits with code 5.
module.exports.forbidden = function forbidden() {
  return exec.run('ls', ['/']).stdout;
};
