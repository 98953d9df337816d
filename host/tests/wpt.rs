//! The Web Platform Tests of the areas jsbox claims, run in jsbox and in
//! node with jsbox's own harness (`tests/wpt/harness.js`, which implements
//! the part of WPT's testharness.js API the files use).
//!
//! The `.any.js` files are WPT's, vendored unchanged under `tests/wpt/`
//! (the same paths as in WPT; `tests/wpt/README.md` has their origin and
//! license). `tests/wpt/results.json` records every subtest's outcome in
//! jsbox and in node 20; the per-area table in `docs/web-platform.md` is
//! made from it. The test asserts that
//!
//! - jsbox's outcomes are the recorded ones (a regression or an improvement
//!   shows up as a difference: record it with `JSBOX_WPT_UPDATE=1`),
//! - node's are too, when node 20 is on PATH,
//! - every subtest node passes and jsbox does not is listed, with its
//!   reason, in `tests/wpt/known-differences.json` (and nothing else is),
//! - the doc's table is the one the recorded outcomes give.
//!
//! `JSBOX_WPT_UPDATE=1 cargo test -p jsbox --test wpt` (node 20 on PATH)
//! rewrites `results.json` and the doc's table.

#[path = "support/node.rs"]
mod node;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jsbox::{CacheDir, EngineFactory, EngineOptions};
use serde_json::{json, Value};

/// An area of the web platform and its WPT files.
struct Area {
    name: &'static str,
    files: &'static [&'static str],
}

const AREAS: &[Area] = &[
    Area {
        name: "url",
        files: &[
            "url/url-constructor.any.js",
            "url/url-statics-canparse.any.js",
            "url/urlsearchparams-append.any.js",
            "url/urlsearchparams-has.any.js",
            "url/urlsearchparams-sort.any.js",
        ],
    },
    // WPT's URLPattern test data, through jsbox's own runner (WPT's driver
    // for it is not on a source the project copies from: tests/wpt/README.md).
    Area { name: "urlpattern", files: &["urlpattern/urlpattern-runner.any.js"] },
    Area {
        name: "events",
        files: &[
            "dom/events/AddEventListenerOptions-once.any.js",
            "dom/events/AddEventListenerOptions-signal.any.js",
            "dom/events/Event-constructors.any.js",
        ],
    },
    // WPT's encoding directory: TextEncoder and TextDecoder (its .any.js
    // files but the IDL one and textdecoder-fatal-single-byte, whose 7,400
    // subtests would add about 1 MB to results.json).
    Area {
        name: "encoding",
        files: &[
            "encoding/api-basics.any.js",
            "encoding/api-invalid-label.any.js",
            "encoding/api-replacement-encodings.any.js",
            "encoding/api-surrogates-utf8.any.js",
            "encoding/encodeInto.any.js",
            "encoding/iso-2022-jp-decoder.any.js",
            "encoding/textdecoder-arguments.any.js",
            "encoding/textdecoder-byte-order-marks.any.js",
            "encoding/textdecoder-copy.any.js",
            "encoding/textdecoder-eof.any.js",
            "encoding/textdecoder-fatal.any.js",
            "encoding/textdecoder-fatal-streaming.any.js",
            "encoding/textdecoder-ignorebom.any.js",
            "encoding/textdecoder-labels.any.js",
            "encoding/textdecoder-streaming.any.js",
            "encoding/textdecoder-utf16-surrogates.any.js",
            "encoding/textencoder-constructor-non-utf.any.js",
            "encoding/textencoder-utf16-surrogates.any.js",
        ],
    },
    Area { name: "abort", files: &["dom/abort/AbortSignal.any.js"] },
    Area {
        name: "DOMException",
        files: &[
            "webidl/ecmascript-binding/es-exceptions/DOMException-constructor-behavior.any.js",
            "webidl/ecmascript-binding/es-exceptions/DOMException-custom-bindings.any.js",
        ],
    },
    Area {
        name: "timers",
        files: &[
            "html/webappapis/timers/clearinterval-from-callback.any.js",
            "html/webappapis/timers/cleartimeout-clearinterval.any.js",
            "html/webappapis/timers/evil-spec-example.any.js",
            "html/webappapis/timers/negative-settimeout.any.js",
            "html/webappapis/timers/type-long-settimeout.any.js",
        ],
    },
    Area { name: "queueMicrotask", files: &["html/webappapis/microtask-queuing/queue-microtask.any.js"] },
    Area { name: "hr-time", files: &["hr-time/basic.any.js"] },
    Area {
        name: "crypto",
        files: &["WebCryptoAPI/getRandomValues.any.js", "WebCryptoAPI/randomUUID.https.any.js"],
    },
    // crypto.subtle: the files for what jsbox has (digests, HMAC, AES, and
    // HKDF and PBKDF2 key import); the other algorithms' files would only
    // count NotSupportedErrors.
    Area {
        name: "WebCryptoAPI",
        files: &[
            "WebCryptoAPI/digest/digest.https.any.js",
            "WebCryptoAPI/sign_verify/hmac.https.any.js",
            "WebCryptoAPI/encrypt_decrypt/aes_cbc.https.any.js",
            "WebCryptoAPI/encrypt_decrypt/aes_ctr.https.any.js",
            "WebCryptoAPI/encrypt_decrypt/aes_gcm.https.any.js",
            "WebCryptoAPI/encrypt_decrypt/aes_gcm_256_iv.https.any.js",
            "WebCryptoAPI/import_export/symmetric_importKey.https.any.js",
            "WebCryptoAPI/generateKey/successes_HMAC.https.any.js",
            "WebCryptoAPI/generateKey/successes_AES-CBC.https.any.js",
            "WebCryptoAPI/generateKey/successes_AES-CTR.https.any.js",
            "WebCryptoAPI/generateKey/successes_AES-GCM.https.any.js",
            "WebCryptoAPI/generateKey/successes_AES-KW.https.any.js",
            "WebCryptoAPI/generateKey/failures_HMAC.https.any.js",
            "WebCryptoAPI/generateKey/failures_AES-CBC.https.any.js",
            "WebCryptoAPI/generateKey/failures_AES-CTR.https.any.js",
            "WebCryptoAPI/generateKey/failures_AES-GCM.https.any.js",
            "WebCryptoAPI/generateKey/failures_AES-KW.https.any.js",
            "WebCryptoAPI/sign_verify/ecdsa.https.any.js",
            "WebCryptoAPI/import_export/ec_importKey.https.any.js",
            "WebCryptoAPI/generateKey/successes_ECDSA.https.any.js",
            "WebCryptoAPI/generateKey/successes_ECDH.https.any.js",
            "WebCryptoAPI/generateKey/failures_ECDSA.https.any.js",
            "WebCryptoAPI/generateKey/failures_ECDH.https.any.js",
            "WebCryptoAPI/derive_bits_keys/ecdh_bits.https.any.js",
            "WebCryptoAPI/derive_bits_keys/ecdh_keys.https.any.js",
        ],
    },
    Area { name: "base64", files: &["html/webappapis/atob/base64.any.js"] },
    Area { name: "structured clone", files: &["html/webappapis/structured-clone/structured-clone.any.js"] },
    // fetch's Headers, Request and Response, and XHR's FormData: the
    // .any.js files that need no WPT server (tests/wpt/README.md).
    Area {
        name: "fetch Headers",
        files: &[
            "fetch/api/headers/header-setcookie.any.js",
            "fetch/api/headers/headers-basic.any.js",
            "fetch/api/headers/headers-casing.any.js",
            "fetch/api/headers/headers-combine.any.js",
            "fetch/api/headers/headers-errors.any.js",
            "fetch/api/headers/headers-no-cors.any.js",
            "fetch/api/headers/headers-normalize.any.js",
            "fetch/api/headers/headers-record.any.js",
            "fetch/api/headers/headers-structure.any.js",
        ],
    },
    Area {
        name: "fetch Request",
        files: &[
            "fetch/api/request/forbidden-method.any.js",
            "fetch/api/request/request-constructor-init-body-override.any.js",
            "fetch/api/request/request-consume-empty.any.js",
            "fetch/api/request/request-consume.any.js",
            "fetch/api/request/request-disturbed.any.js",
            "fetch/api/request/request-error.any.js",
            "fetch/api/request/request-headers.any.js",
            "fetch/api/request/request-init-002.any.js",
            "fetch/api/request/request-init-contenttype.any.js",
            "fetch/api/request/request-init-stream.any.js",
            "fetch/api/request/request-structure.any.js",
        ],
    },
    Area {
        name: "fetch Response",
        files: &[
            "fetch/api/response/json.any.js",
            "fetch/api/response/response-clone.any.js",
            "fetch/api/response/response-consume-empty.any.js",
            "fetch/api/response/response-consume-stream.any.js",
            "fetch/api/response/response-error-from-stream.any.js",
            "fetch/api/response/response-error.any.js",
            "fetch/api/response/response-from-stream.any.js",
            "fetch/api/response/response-headers-guard.any.js",
            "fetch/api/response/response-init-001.any.js",
            "fetch/api/response/response-init-002.any.js",
            "fetch/api/response/response-init-contenttype.any.js",
            "fetch/api/response/response-static-error.any.js",
            "fetch/api/response/response-static-json.any.js",
            "fetch/api/response/response-static-redirect.any.js",
            "fetch/api/response/response-stream-bad-chunk.any.js",
            "fetch/api/response/response-stream-disturbed-1.any.js",
            "fetch/api/response/response-stream-disturbed-2.any.js",
            "fetch/api/response/response-stream-disturbed-3.any.js",
            "fetch/api/response/response-stream-disturbed-4.any.js",
            "fetch/api/response/response-stream-disturbed-5.any.js",
            "fetch/api/response/response-stream-disturbed-6.any.js",
            "fetch/api/response/response-stream-disturbed-by-pipe.any.js",
            "fetch/api/response/response-stream-with-broken-then.any.js",
        ],
    },
    // data: URLs through fetch() (jsbox's fetch decodes them in the guest,
    // as node's does, with no net grant): WPT's data: URL processor and
    // forgiving-base64 vectors.
    Area {
        name: "fetch data: URLs",
        files: &["fetch/data-urls/processing.any.js", "fetch/data-urls/base64.any.js"],
    },
    Area {
        name: "FormData",
        files: &[
            "xhr/formdata/append.any.js",
            "xhr/formdata/constructor.any.js",
            "xhr/formdata/delete.any.js",
            "xhr/formdata/foreach.any.js",
            "xhr/formdata/get.any.js",
            "xhr/formdata/has.any.js",
            "xhr/formdata/iteration.any.js",
            "xhr/formdata/set-blob.any.js",
            "xhr/formdata/set.any.js",
        ],
    },
    Area {
        name: "FileAPI",
        files: &[
            "FileAPI/blob/Blob-array-buffer.any.js",
            "FileAPI/blob/Blob-bytes.any.js",
            "FileAPI/blob/Blob-constructor.any.js",
            "FileAPI/blob/Blob-slice-overflow.any.js",
            "FileAPI/blob/Blob-slice.any.js",
            "FileAPI/blob/Blob-stream.any.js",
            "FileAPI/blob/Blob-text.any.js",
            "FileAPI/file/File-constructor.any.js",
        ],
    },
    // WPT's streams directory (its .any.js files but the IDL, transfer and
    // browser-only ones) and encoding/streams (TextEncoderStream and
    // TextDecoderStream).
    Area {
        name: "streams",
        files: &[
            "streams/piping/abort.any.js",
            "streams/piping/close-propagation-backward.any.js",
            "streams/piping/close-propagation-forward.any.js",
            "streams/piping/error-propagation-backward.any.js",
            "streams/piping/error-propagation-forward.any.js",
            "streams/piping/flow-control.any.js",
            "streams/piping/general-addition.any.js",
            "streams/piping/general.any.js",
            "streams/piping/multiple-propagation.any.js",
            "streams/piping/pipe-through.any.js",
            "streams/piping/then-interception.any.js",
            "streams/piping/throwing-options.any.js",
            "streams/piping/transform-streams.any.js",
            "streams/queuing-strategies.any.js",
            "streams/readable-byte-streams/bad-buffers-and-views.any.js",
            "streams/readable-byte-streams/construct-byob-request.any.js",
            "streams/readable-byte-streams/enqueue-with-detached-buffer.any.js",
            "streams/readable-byte-streams/general.any.js",
            "streams/readable-byte-streams/non-transferable-buffers.any.js",
            "streams/readable-byte-streams/read-min.any.js",
            "streams/readable-byte-streams/respond-after-enqueue.any.js",
            "streams/readable-byte-streams/tee.any.js",
            "streams/readable-streams/async-iterator.any.js",
            "streams/readable-streams/bad-strategies.any.js",
            "streams/readable-streams/bad-underlying-sources.any.js",
            "streams/readable-streams/cancel.any.js",
            "streams/readable-streams/constructor.any.js",
            "streams/readable-streams/count-queuing-strategy-integration.any.js",
            "streams/readable-streams/default-reader.any.js",
            "streams/readable-streams/floating-point-total-queue-size.any.js",
            "streams/readable-streams/from.any.js",
            "streams/readable-streams/garbage-collection.any.js",
            "streams/readable-streams/general.any.js",
            "streams/readable-streams/owning-type.any.js",
            "streams/readable-streams/patched-global.any.js",
            "streams/readable-streams/reentrant-strategies.any.js",
            "streams/readable-streams/tee.any.js",
            "streams/readable-streams/templated.any.js",
            "streams/transform-streams/backpressure.any.js",
            "streams/transform-streams/cancel.any.js",
            "streams/transform-streams/errors.any.js",
            "streams/transform-streams/flush.any.js",
            "streams/transform-streams/general.any.js",
            "streams/transform-streams/lipfuzz.any.js",
            "streams/transform-streams/patched-global.any.js",
            "streams/transform-streams/properties.any.js",
            "streams/transform-streams/reentrant-strategies.any.js",
            "streams/transform-streams/strategies.any.js",
            "streams/transform-streams/terminate.any.js",
            "streams/writable-streams/aborting.any.js",
            "streams/writable-streams/bad-strategies.any.js",
            "streams/writable-streams/bad-underlying-sinks.any.js",
            "streams/writable-streams/byte-length-queuing-strategy.any.js",
            "streams/writable-streams/close.any.js",
            "streams/writable-streams/constructor.any.js",
            "streams/writable-streams/count-queuing-strategy.any.js",
            "streams/writable-streams/error.any.js",
            "streams/writable-streams/floating-point-total-queue-size.any.js",
            "streams/writable-streams/general.any.js",
            "streams/writable-streams/properties.any.js",
            "streams/writable-streams/reentrant-strategy.any.js",
            "streams/writable-streams/start.any.js",
            "streams/writable-streams/write.any.js",
            "encoding/streams/backpressure.any.js",
            "encoding/streams/decode-attributes.any.js",
            "encoding/streams/decode-bad-chunks.any.js",
            "encoding/streams/decode-ignore-bom.any.js",
            "encoding/streams/decode-incomplete-input.any.js",
            "encoding/streams/decode-non-utf8.any.js",
            "encoding/streams/decode-split-character.any.js",
            "encoding/streams/decode-utf8.any.js",
            "encoding/streams/encode-bad-chunks.any.js",
            "encoding/streams/encode-utf8.any.js",
            "encoding/streams/readable-writable-properties.any.js",
        ],
    },
    // WPT's compression directory: CompressionStream and
    // DecompressionStream (its .any.js files but the IDL one).
    Area {
        name: "compression",
        files: &[
            "compression/compression-bad-chunks.tentative.any.js",
            "compression/compression-constructor-error.tentative.any.js",
            "compression/compression-including-empty-chunk.tentative.any.js",
            "compression/compression-large-flush-output.any.js",
            "compression/compression-multiple-chunks.tentative.any.js",
            "compression/compression-output-length.tentative.any.js",
            "compression/compression-stream.tentative.any.js",
            "compression/decompression-bad-chunks.tentative.any.js",
            "compression/decompression-buffersource.tentative.any.js",
            "compression/decompression-constructor-error.tentative.any.js",
            "compression/decompression-correct-input.tentative.any.js",
            "compression/decompression-corrupt-input.tentative.any.js",
            "compression/decompression-empty-input.tentative.any.js",
            "compression/decompression-split-chunk.tentative.any.js",
            "compression/decompression-uint8array-output.tentative.any.js",
        ],
    },
];

/// The node major version the recorded outcomes are from.
const NODE_MAJOR: &str = "v20.";
const TABLE_START: &str = "<!-- wpt-table: made by host/tests/wpt.rs from host/tests/wpt/results.json -->";
const TABLE_END: &str = "<!-- /wpt-table -->";

fn wpt_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/wpt")
}

fn doc_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/web-platform.md")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A URL a WPT file names (a path from the WPT root, or relative to the
/// file) as a path under `tests/wpt`.
fn resolve(file: &str, src: &str) -> PathBuf {
    // The file's directory, or the root.
    let mut parts: Vec<&str> = file.split('/').collect();
    parts.pop();
    if src.starts_with('/') {
        parts.clear();
    }
    for part in src.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if part == ".." {
            parts.pop();
        } else {
            parts.push(part);
        }
    }
    wpt_dir().join(parts.join("/"))
}

/// The scripts a WPT file's `// META: script=` lines name, in order;
/// common/subset-tests*.js is not among them (harness.js has its
/// functions). A script with an adapted copy under `tests/wpt/adapted/`
/// (the same path) runs as that copy, in jsbox and in node alike; each
/// copy says at its top what it changes and why.
fn meta_scripts(file: &str, text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("// META: script="))
        .map(str::trim)
        .filter(|src| !src.starts_with("/common/subset-tests"))
        .map(|src| {
            let path = resolve(file, src);
            let adapted = wpt_dir().join("adapted").join(path.strip_prefix(wpt_dir()).expect("under tests/wpt"));
            read(if adapted.is_file() { &adapted } else { &path })
        })
        .collect()
}

/// The JSON files a WPT file fetches: every quoted string literal ending
/// in `.json` (as written, the key harness.js's fetch looks up) with the
/// text of the file it names.
fn json_resources(file: &str, text: &str) -> serde_json::Map<String, Value> {
    let mut resources = serde_json::Map::new();
    for quote in ['"', '\'', '`'] {
        let end_mark = format!(".json{quote}");
        for (end, _) in text.match_indices(&end_mark) {
            let Some(start) = text[..end].rfind(quote) else { continue };
            let url = &text[start + 1..end + ".json".len()];
            let path = resolve(file, url);
            if !url.contains(char::is_whitespace) && path.is_file() {
                resources.insert(url.to_string(), Value::String(read(&path)));
            }
        }
    }
    resources
}

/// The script that runs one WPT file: the JSON files it fetches, the
/// harness, the scripts its META lines name and the file (each by
/// indirect eval, so a top-level throw is caught, and the file's
/// `"use strict"` holds), and the promise of its results.
fn script_for(file: &str) -> String {
    let text = read(&wpt_dir().join(file));
    let title = text
        .lines()
        .find_map(|l| l.strip_prefix("// META: title="))
        .map_or_else(|| file.to_string(), |t| t.trim().to_string());
    let resources = json_resources(file, &text);
    let mut scripts = String::new();
    // A META script is a classic <script> in WPT: its top-level functions
    // become globals the test file calls. In a strict eval they would stay
    // in the eval, so a META script goes after an empty statement, which
    // makes its own "use strict" a plain expression (the test file keeps
    // its strictness: nothing after it needs its declarations).
    // Its top-level `const`s and `let`s are globals too (a page's scripts
    // share one global lexical scope; each eval here has its own), so the
    // eval ends by copying them onto the global object.
    let metas = meta_scripts(file, &text).into_iter().map(|script| {
        let lexicals: String = script
            .lines()
            .filter_map(|l| l.strip_prefix("const ").or_else(|| l.strip_prefix("let ")))
            .filter_map(|l| l.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$')).next())
            .filter(|name| !name.is_empty())
            .map(|name| format!("\n;globalThis.{name} = {name};"))
            .collect();
        format!(";{script}{lexicals}")
    });
    for script in metas.chain([text]) {
        scripts += &format!("try {{ (0, eval)({}); }} catch (e) {{ __wpt_file_error(e); }}\n", json!(script));
    }
    format!(
        "globalThis.__wpt_file = {};\nglobalThis.__wpt_resources = {};\n{}\n{scripts}__wpt_finish()",
        json!(title),
        Value::Object(resources),
        read(&wpt_dir().join("harness.js")),
    )
}

/// Subtest name -> outcome, for one file's run (a harness error is the
/// subtest "(harness)").
fn outcomes(run: &Value) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = run["results"]
        .as_object()
        .unwrap_or_else(|| panic!("no results in {run}"))
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("?").to_string()))
        .collect();
    if let Some(e) = run["error"].as_str() {
        out.insert("(harness)".into(), format!("ERROR {e}"));
    }
    out
}

type Outcomes = BTreeMap<String, BTreeMap<String, String>>;

/// Runs every file, a few at a time: the files' timers (and their 5 s
/// limit) must not starve on a small machine.
fn run_all(run: impl Fn(&str) -> Value + Sync) -> Outcomes {
    const PARALLEL: usize = 6;
    let files: Vec<&str> = AREAS.iter().flat_map(|a| a.files.iter().copied()).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::Mutex::new(Outcomes::new());
    std::thread::scope(|s| {
        for _ in 0..PARALLEL {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(file) = files.get(i) else { break };
                let got = outcomes(&run(&script_for(file)));
                done.lock().unwrap().insert(file.to_string(), got);
            });
        }
    });
    done.into_inner().unwrap()
}

fn node_version() -> String {
    let out = node::node_command().arg("--version").output().expect("node --version");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `area | jsbox passes | node passes | subtests` rows, and the totals.
fn table(recorded: &Value) -> String {
    let mut text = format!(
        "{TABLE_START}\n| Area | WPT files | jsbox passes | node {} passes | subtests |\n|---|---|---|---|---|\n",
        recorded["node"].as_str().unwrap_or("?")
    );
    let (mut tj, mut tn, mut tt) = (0, 0, 0);
    for area in AREAS {
        let (mut j, mut n, mut t) = (0, 0, 0);
        for file in area.files {
            for pair in recorded["files"][file].as_object().into_iter().flat_map(|m| m.values()) {
                t += 1;
                j += usize::from(pair[0] == "PASS");
                n += usize::from(pair[1] == "PASS");
            }
        }
        text += &format!("| {} | {} | {j} | {n} | {t} |\n", area.name, area.files.len());
        (tj, tn, tt) = (tj + j, tn + n, tt + t);
    }
    text += &format!("| **all** | {} | **{tj}** | **{tn}** | **{tt}** |\n{TABLE_END}", AREAS.iter().map(|a| a.files.len()).sum::<usize>());
    text
}

fn replace_table(doc: &str, table: &str) -> String {
    let start = doc.find(TABLE_START).expect("the doc has the WPT table's start marker");
    let end = doc.find(TABLE_END).expect("the doc has the WPT table's end marker") + TABLE_END.len();
    format!("{}{table}{}", &doc[..start], &doc[end..])
}

#[test]
fn web_platform_tests_match_the_recorded_outcomes() {
    let factory = EngineFactory::new(
        EngineOptions::new().cache(CacheDir::Path(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wpt-cache"))),
    )
    .unwrap();
    let jsbox = run_all(|script| {
        let mut rt = factory.new_runtime().expect("runtime");
        rt.eval(script).unwrap_or_else(|e| json!({"results": {}, "error": format!("eval failed: {e}")}))
    });
    // The recorded node column is node 20's; another major is not compared
    // with it (its own outcomes differ where node changed).
    let version = node_version();
    let node = version.starts_with(NODE_MAJOR).then(|| run_all(node::node_eval));
    if node.is_none() {
        eprintln!("node {version} is not node {NODE_MAJOR}: its outcomes are not compared with the recorded node 20 column");
    }

    let results_path = wpt_dir().join("results.json");
    if std::env::var_os("JSBOX_WPT_UPDATE").is_some() {
        let node = node.as_ref().expect("JSBOX_WPT_UPDATE needs node 20 on PATH");
        let mut files = serde_json::Map::new();
        for (file, subtests) in &jsbox {
            let mut m = serde_json::Map::new();
            let names: std::collections::BTreeSet<&String> = subtests.keys().chain(node[file].keys()).collect();
            for name in names {
                let j = subtests.get(name).map_or("MISSING", String::as_str);
                let n = node[file].get(name).map_or("MISSING", String::as_str);
                m.insert(name.clone(), json!([j, n]));
            }
            files.insert(file.clone(), Value::Object(m));
        }
        let recorded = json!({"node": version, "files": files});
        std::fs::write(&results_path, serde_json::to_string_pretty(&recorded).unwrap() + "\n").unwrap();
        std::fs::write(doc_path(), replace_table(&read(&doc_path()), &table(&recorded))).unwrap();
    }

    let recorded: Value = serde_json::from_str(&read(&results_path)).expect("results.json is JSON");
    let mut problems = Vec::new();
    for (which, got, index) in [("jsbox", Some(&jsbox), 0), ("node", node.as_ref(), 1)] {
        let Some(got) = got else { continue };
        for (file, subtests) in got {
            let want = recorded["files"][file].as_object().cloned().unwrap_or_default();
            for (name, outcome) in subtests {
                let was = want.get(name).map_or("MISSING", |p| p[index].as_str().unwrap_or("?"));
                if was != outcome {
                    problems.push(format!("{which}: {file} :: {name}: recorded {was}, now {outcome}"));
                }
            }
            for name in want.keys().filter(|n| !subtests.contains_key(*n) && want[*n][index] != "MISSING") {
                problems.push(format!("{which}: {file} :: {name}: recorded, now not run"));
            }
        }
    }

    // Every subtest node passes and jsbox does not is a known difference.
    let known: BTreeMap<String, String> =
        serde_json::from_str(&read(&wpt_dir().join("known-differences.json"))).expect("known-differences.json");
    let mut differing = Vec::new();
    for (file, subtests) in recorded["files"].as_object().unwrap() {
        for (name, pair) in subtests.as_object().unwrap() {
            if pair[1] == "PASS" && pair[0] != "PASS" {
                differing.push(format!("{file} :: {name}"));
            }
        }
    }
    for d in &differing {
        if !known.contains_key(d) {
            problems.push(format!("node passes, jsbox does not, and known-differences.json does not say why: {d}"));
        }
    }
    for k in known.keys() {
        if !differing.contains(k) {
            problems.push(format!("known-differences.json lists a subtest that is no longer a difference: {k}"));
        }
    }
    if !read(&doc_path()).contains(&table(&recorded)) {
        problems.push("docs/web-platform.md's WPT table is not the recorded one (JSBOX_WPT_UPDATE=1)".into());
    }
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}
