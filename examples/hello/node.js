// The same plugin under node, for the process-start benchmark.
const plugin = (name) => `hello, ${name}`;
console.log(JSON.stringify(plugin(JSON.parse(process.argv[2] || '"world"'))));
