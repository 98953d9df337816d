// An ES-module plugin ("type": "module" in package.json) using an npm
// package installed next to it. Run: jsbox run examples/esm/plugin.js --input '["hello", "ES modules"]'
import camelCase from 'camelcase';
import { slug } from './lib/slug.js';

export default function (phrases) {
  return phrases.map((p) => ({ camel: camelCase(p), slug: slug(p) }));
}
