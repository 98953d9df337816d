// jsbox's own runner for WPT's URLPattern test data
// (resources/urlpatterntestdata.json). WPT's driver for that file
// (urlpattern/resources/urlpatterntests.js) is not published on any source
// this project may copy from (crates.io, npm, PyPI, Debian), so this file,
// written for jsbox, does with each entry what the data's format asks:
//
// - `pattern` is the constructor's argument list; `expected_obj: "error"`
//   means the constructor throws a TypeError;
// - otherwise each component getter equals `expected_obj[component]`, or,
//   where absent, the value the standard gives it: "" if the component is
//   in `exactly_empty_components`; the init's own member; "*" when an
//   earlier component (protocol, hostname, port, pathname, search, in that
//   order) is in the init; the base URL's component (never username or
//   password); else "*";
// - `inputs` are test()'s and exec()'s arguments; `expected_match: "error"`
//   means both throw a TypeError; null means test() is false and exec()
//   null; an object means test() is true and exec() gives those `inputs`
//   (default: the entry's) and, per component, that `{ input, groups }`
//   (absent: an empty input whose group "0" is "", or no group when the
//   component is exactly empty); a null group in the data is undefined.
//
// The data file as shipped in the `urlpattern` crate carries a `skip` note
// on entries its `regex` crate engine cannot run; jsbox runs ECMAScript
// regexps, so they run here too.
'use strict';

const COMPONENTS = ['protocol', 'username', 'password', 'hostname', 'port', 'pathname', 'search', 'hash'];
// The components before each one in a URL: one of them in the init makes
// an absent one a wildcard instead of the base URL's.
const EARLIER = {
  protocol: [],
  username: [],
  password: [],
  hostname: ['protocol'],
  port: ['protocol', 'hostname'],
  pathname: ['protocol', 'hostname', 'port'],
  search: ['protocol', 'hostname', 'port', 'pathname'],
  hash: ['protocol', 'hostname', 'port', 'pathname', 'search'],
};

function expectedPattern(entry, component) {
  const given = entry.expected_obj[component];
  if (given !== undefined) return given;
  const empty = entry.exactly_empty_components || [];
  if (empty.includes(component)) return '';
  const init = typeof entry.pattern[0] === 'object' ? entry.pattern[0] : null;
  if (init && init[component]) return init[component];
  if (init && EARLIER[component].some((c) => init[c] !== undefined)) return '*';
  let base = null;
  if (init && init.baseURL) base = new URL(init.baseURL);
  else if (typeof entry.pattern[1] === 'string') base = new URL(entry.pattern[1]);
  if (base && component !== 'username' && component !== 'password') {
    const value = base[component];
    // URL's getters carry the separators ("https:", "?q", "#h").
    if (component === 'protocol') return value.slice(0, -1);
    if (component === 'search' || component === 'hash') return value.slice(1);
    return value;
  }
  return '*';
}

function expectedComponentResult(entry, component) {
  const given = entry.expected_match[component];
  const result = given
    ? { input: given.input, groups: { ...given.groups } }
    : { input: '', groups: (entry.exactly_empty_components || []).includes(component) ? {} : { 0: '' } };
  for (const key of Object.keys(result.groups)) {
    if (result.groups[key] === null) result.groups[key] = undefined;
  }
  return result;
}

function runEntry(entry) {
  if (entry.expected_obj === 'error') {
    assert_throws_js(TypeError, () => new URLPattern(...entry.pattern), 'constructor');
    return;
  }
  const pattern = new URLPattern(...entry.pattern);
  entry.expected_obj = entry.expected_obj || {};
  for (const component of COMPONENTS) {
    assert_equals(pattern[component], expectedPattern(entry, component), `pattern's ${component}`);
  }

  if (entry.expected_match === 'error') {
    assert_throws_js(TypeError, () => pattern.test(...entry.inputs), 'test()');
    assert_throws_js(TypeError, () => pattern.exec(...entry.inputs), 'exec()');
    return;
  }
  assert_equals(pattern.test(...entry.inputs), Boolean(entry.expected_match), 'test()');
  const result = pattern.exec(...entry.inputs);
  if (!entry.expected_match) {
    assert_equals(result, entry.expected_match, 'exec() without a match');
    return;
  }
  const inputs = entry.expected_match.inputs || entry.inputs;
  assert_equals(result.inputs.length, inputs.length, 'exec() inputs.length');
  result.inputs.forEach((input, i) => {
    if (typeof input === 'string') {
      assert_equals(input, inputs[i], `exec() inputs[${i}]`);
    } else {
      for (const component of COMPONENTS) {
        assert_equals(input[component], inputs[i][component], `exec() inputs[${i}].${component}`);
      }
    }
  });
  for (const component of COMPONENTS) {
    assert_object_equals(result[component], expectedComponentResult(entry, component), `exec() ${component}`);
  }
}

promise_test(async () => {
  const data = await (await fetch('resources/urlpatterntestdata.json')).json();
  for (const entry of data) {
    test(() => runEntry(entry), `Pattern: ${JSON.stringify(entry.pattern)} Inputs: ${JSON.stringify(entry.inputs)}`);
  }
}, 'Loading data...');
