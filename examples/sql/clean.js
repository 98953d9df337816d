// A SQL function for `jsbox sql`: tidies a name. It gets the row's value
// as its argument (null for SQL NULL) and returns a string.
module.exports = (name) => {
  if (name === null) return null;
  return name.trim().split(/\s+/).map((w) => w[0].toUpperCase() + w.slice(1).toLowerCase()).join(' ');
};
