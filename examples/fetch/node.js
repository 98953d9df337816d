// The same plugin under node (20+, global fetch), for comparing outputs:
//   node examples/fetch/node.js '{"url": "http://127.0.0.1:8080/json"}'
const plugin = require('./plugin.js');
plugin(JSON.parse(process.argv[2])).then(
  (out) => console.log(JSON.stringify(out)),
  (e) => { console.error(`${e.name}: ${e.message}`); process.exit(1); },
);
