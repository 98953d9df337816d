// Fetches a JSON document from a granted host and summarises it: an async
// plugin (jsbox awaits the promise it returns). Network access is off
// unless granted: run it with --allow-net HOST:PORT for the URL's host.
module.exports = async function (input) {
  const response = await fetch(input.url, { headers: { accept: 'application/json' } });
  if (!response.ok) {
    return { ok: false, status: response.status, statusText: response.statusText };
  }
  const doc = await response.json();
  return {
    ok: true,
    status: response.status,
    contentType: response.headers.get('content-type'),
    keys: Object.keys(doc).sort(),
    doc,
  };
};
