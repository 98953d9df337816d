// @ts-check
// A plugin checked by TypeScript against `jsbox types`: the README runs
// `jsbox types --allow-read examples/types/data --output examples/types/jsbox.d.ts`
// then `tsc -p examples/types`.
const fs = require("fs");

/** @param {{ file: string }} input */
module.exports = (input) => {
  const text = fs.readFileSync(`examples/types/data/${input.file}`, "utf8");
  return { file: input.file, words: text.split(/\s+/).filter(Boolean).length };
};
