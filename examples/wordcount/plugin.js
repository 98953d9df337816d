// Counts words in every .txt file of a directory the host granted with
// --allow-read. Input (optional): { "dir": "path", "top": 5 }. Paths are
// host paths: a relative one is resolved against the directory jsbox runs
// in, as the --allow-read path is, so the default is the sample texts as
// seen from the repository root.
const fs = require('fs');

function words(text) {
  return text.toLowerCase().match(/[a-z0-9']+/g) || [];
}

module.exports = function wordcount(input) {
  const dir = (input && input.dir) || 'examples/wordcount/texts';
  const top = (input && input.top) || 5;
  const files = {};
  const totals = new Map();
  let total = 0;
  for (const name of fs.readdirSync(dir)) {
    if (!name.endsWith('.txt')) continue;
    const list = words(fs.readFileSync(dir + '/' + name, 'utf8'));
    files[name] = list.length;
    total += list.length;
    for (const w of list) totals.set(w, (totals.get(w) || 0) + 1);
  }
  const frequent = [...totals.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, top)
    .map(([word, count]) => ({ word, count }));
  console.error(`wordcount: ${Object.keys(files).length} files, ${total} words`);
  return { files, total, distinct: totals.size, top: frequent };
};
