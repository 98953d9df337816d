// The smallest plugin: `jsbox run examples/hello/plugin.js --input '"world"'`.
module.exports = (name) => `hello, ${name}`;
