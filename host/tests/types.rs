//! `jsbox::types::declarations`: the `.d.ts` of a sandbox, checked with
//! TypeScript's real compiler (`tsc --noEmit --strict`, installed by
//! `scripts/test-tools.sh`). Plugins that use the sandbox correctly pass;
//! a native call with the wrong argument type, or an import of a module
//! the sandbox does not grant, fails with TypeScript's error.

use std::path::{Path, PathBuf};
use std::process::Command;

use jsbox::schemars::JsonSchema;
use jsbox::{CacheDir, EngineFactory, EngineOptions, ModulePolicy, NativeModule};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Deserialize, Serialize, JsonSchema)]
#[schemars(crate = "jsbox::schemars")]
struct Point {
    x: f64,
    y: f64,
}

/// A scaled vector.
#[derive(Serialize, JsonSchema)]
#[schemars(crate = "jsbox::schemars")]
struct Scaled {
    /// Its length.
    len: f64,
    scaled: [f64; 2],
    #[serde(rename = "labelText")]
    label: String,
}

#[derive(Deserialize, JsonSchema)]
#[schemars(crate = "jsbox::schemars")]
#[serde(rename_all = "lowercase")]
enum Unit {
    Metres,
    Feet,
}

fn math() -> NativeModule {
    NativeModule::new("math")
        .function("add", |(p,): (Point,)| Ok::<_, String>(p.x + p.y))
        .function("scale", |(p, k, label): (Point, f64, Option<String>)| {
            Ok::<_, String>(Scaled {
                len: (p.x * p.x + p.y * p.y).sqrt() * k,
                scaled: [p.x * k, p.y * k],
                label: label.unwrap_or_default(),
            })
        })
        .function("convert", |(v, unit): (f64, Unit)| {
            Ok::<_, String>(match unit {
                Unit::Metres => v,
                Unit::Feet => v * 3.28084,
            })
        })
        .function("sum", |values: Vec<f64>| {
            Ok::<_, String>(values.iter().sum::<f64>())
        })
        .async_function("origin", |(): ()| async {
            Ok::<_, String>(Point { x: 0.0, y: 0.0 })
        })
        .raw("echo", |args: &str| Ok(args.to_string()))
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A sandbox with `math` and read access to the fixture directory.
fn options(dir: &Path) -> EngineOptions {
    EngineOptions::new()
        .cache(CacheDir::Path(
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("types-cache"),
        ))
        .native_module(math())
        .working_dir(dir)
        .allow_read(".")
}

/// TypeScript's compiler: `JSBOX_TSC`, or the one `scripts/test-tools.sh`
/// installs.
fn tsc() -> PathBuf {
    if let Some(path) = std::env::var_os("JSBOX_TSC") {
        return PathBuf::from(path);
    }
    let path = root().join("target/test-tools/node_modules/.bin/tsc");
    assert!(
        path.exists(),
        "TypeScript's compiler is not at {}: run scripts/test-tools.sh (`make test` does) or set JSBOX_TSC",
        path.display()
    );
    path
}

/// Type-checks `file` (named `name`) against `dts` with `tsc --strict`:
/// whether it passed, and tsc's output.
fn check(dts: &str, name: &str, file: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sandbox.d.ts"), dts).unwrap();
    std::fs::write(dir.path().join(name), file).unwrap();
    let config = json!({
        "compilerOptions": {
            "strict": true, "noEmit": true, "target": "es2023", "lib": ["es2023"], "types": [],
            "module": "esnext", "moduleResolution": "bundler", "allowJs": true, "checkJs": true,
        },
        "files": ["sandbox.d.ts", name],
    });
    std::fs::write(dir.path().join("tsconfig.json"), config.to_string()).unwrap();
    let out = Command::new(tsc())
        .arg("-p")
        .arg(dir.path())
        .current_dir(dir.path())
        .output()
        .expect("run tsc");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

const GOOD_TS: &str = r#"import { add, scale, convert, sum, origin, echo } from "math";
import math from "math";
import { readFileSync, readdirSync } from "fs";
import * as path from "node:path";
import { Buffer } from "node:buffer";

export default async function plugin(input: { dir: string }): Promise<string> {
  const total: number = add({ x: 1, y: 2 }) + math.add({ x: 3, y: 4 });
  const s = scale({ x: 3, y: 4 }, 2, null);
  const label: string = s.labelText;
  const [sx, sy] = s.scaled;
  const feet: number = convert(1, "feet");
  const many: number = sum(1, 2, 3);
  const o = await origin();
  const raw: unknown = echo(1, "two");
  const names: string[] = readdirSync(input.dir);
  const text: string = readFileSync(path.join(input.dir, names[0]), "utf8");
  const url = new URL("https://example.com/a?b=1");
  const bytes = new TextEncoder().encode(text);
  const id: string = crypto.randomUUID();
  const key: CryptoKey = await crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const tag: ArrayBuffer = await crypto.subtle.sign("HMAC", key, await crypto.subtle.digest("SHA-256", bytes));
  const pair: CryptoKeyPair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  const es: ArrayBuffer = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, bytes);
  const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
  const pub = await crypto.subtle.importKey("jwk", jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  const valid: boolean = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, pub, es, bytes);
  const copy = structuredClone({ when: new Date(0) });
  const timer = setTimeout(() => {}, 10);
  clearTimeout(timer);
  const controller = new AbortController();
  controller.signal.addEventListener("abort", (e: Event) => console.log(e.type));
  const env: string | undefined = process.env.NODE_ENV;
  const b64: string = Buffer.from(text).toString("base64") + btoa("hi");
  console.log(total, s.len, label, sx + sy, feet, many, o.x, raw, url.searchParams.get("b"), bytes.length, id, tag.byteLength, valid, jwk.crv, copy.when, env, b64);
  return `${total}`;
}
"#;

#[test]
fn a_plugin_using_the_sandbox_correctly_type_checks() {
    let dir = tempfile::tempdir().unwrap();
    let dts = jsbox::types::declarations(&options(dir.path()));
    let (ok, out) = check(&dts, "plugin.ts", GOOD_TS);
    assert!(
        ok,
        "tsc failed on a correct plugin:\n{out}\n--- sandbox.d.ts ---\n{dts}"
    );
}

#[test]
fn the_declarations_follow_the_rust_signatures() {
    let dir = tempfile::tempdir().unwrap();
    let dts = jsbox::types::declarations(&options(dir.path()));
    for expected in [
        "export interface Point {",
        "export function add(arg0: Point): number;",
        "export function scale(arg0: Point, arg1: number, arg2: string | null): Scaled;",
        "    labelText: string;",
        "     * Its length.",
        "export type Unit = \"metres\" | \"feet\";",
        "export function sum(...args: number[]): number;",
        "export function origin(): Promise<Point>;",
        "export function echo(...args: unknown[]): unknown;",
        "declare module \"fs\" {",
        "declare function require(id: \"math\"): typeof import(\"math\");",
    ] {
        assert!(dts.contains(expected), "missing {expected:?} in:\n{dts}");
    }
    // Not granted: no exec. `fetch` either way (data: URLs need no grant),
    // declared once.
    assert!(!dts.contains("declare module \"exec\""));
    assert_eq!(dts.matches("declare function fetch(").count(), 1);
    let granted = jsbox::types::declarations(
        &options(dir.path())
            .allow_exec("ls")
            .allow_net("example.com"),
    );
    assert!(granted.contains("declare module \"exec\" {"));
    assert_eq!(granted.matches("declare function fetch(").count(), 1);
}

#[test]
fn a_native_call_with_the_wrong_argument_type_fails() {
    let dir = tempfile::tempdir().unwrap();
    let dts = jsbox::types::declarations(&options(dir.path()));
    let bad =
        "import { add } from \"math\";\n\nexport const n: number = add({ x: \"1\", y: 2 });\n";
    let (ok, out) = check(&dts, "bad.ts", bad);
    assert!(!ok, "tsc passed a wrong argument:\n{out}");
    assert!(out.contains("bad.ts(3,"), "the error is on line 3:\n{out}");
    assert!(
        out.contains("error TS2322: Type 'string' is not assignable to type 'number'."),
        "{out}"
    );

    // A missing argument, and a result used as the wrong type.
    let bad =
        "import { scale } from \"math\";\nexport const s: string = scale({ x: 1, y: 2 }, 3).len;\n";
    let (ok, out) = check(&dts, "bad.ts", bad);
    assert!(!ok);
    assert!(
        out.contains("bad.ts(2,26): error TS2554: Expected 3 arguments, but got 2."),
        "{out}"
    );
    assert!(
        out.contains("error TS2322: Type 'number' is not assignable to type 'string'."),
        "{out}"
    );

    // An enum's variants are its only strings.
    let bad = "import { convert } from \"math\";\nexport const f = convert(1, \"yards\");\n";
    let (ok, out) = check(&dts, "bad.ts", bad);
    assert!(!ok);
    assert!(out.contains("bad.ts(2,29): error TS2345"), "{out}");
}

#[test]
fn a_commonjs_plugin_checked_as_javascript() {
    let dir = tempfile::tempdir().unwrap();
    let dts = jsbox::types::declarations(&options(dir.path()));
    let good = "// @ts-check\nconst math = require('math');\nconst fs = require('fs');\n\
                module.exports = (/** @type {string} */ dir) => math.add({ x: fs.readdirSync(dir).length, y: 1 });\n";
    let (ok, out) = check(&dts, "plugin.js", good);
    assert!(ok, "{out}");
    let bad =
        "// @ts-check\nconst math = require('math');\nmodule.exports = () => math.add(1, 2);\n";
    let (ok, out) = check(&dts, "plugin.js", bad);
    assert!(!ok, "{out}");
    assert!(out.contains("plugin.js(3,"), "{out}");
    assert!(
        out.contains("error TS2554: Expected 1 arguments, but got 2."),
        "{out}"
    );
}

#[test]
fn importing_a_module_the_sandbox_does_not_grant_fails() {
    let plugin = "import { readFileSync } from \"fs\";\n\nexport const text: string = readFileSync(\"a.txt\");\n";
    let dir = tempfile::tempdir().unwrap();
    // With the grant it type-checks...
    let (ok, out) = check(
        &jsbox::types::declarations(&options(dir.path())),
        "plugin.ts",
        plugin,
    );
    assert!(ok, "{out}");
    // ...without it, fs does not exist.
    let no_fs = EngineOptions::new().native_module(math());
    let (ok, out) = check(&jsbox::types::declarations(&no_fs), "plugin.ts", plugin);
    assert!(
        !ok,
        "tsc passed an import of fs in a sandbox without it:\n{out}"
    );
    assert!(
        out.contains("plugin.ts(1,30): error TS2307: Cannot find module 'fs'"),
        "{out}"
    );
    // A module the policy denies is not declared either.
    let denied = options(dir.path()).module_policy(ModulePolicy::Deny(["math".to_string()].into()));
    let (ok, out) = check(
        &jsbox::types::declarations(&denied),
        "m.ts",
        "import { add } from \"math\";\nadd({ x: 1, y: 2 });\n",
    );
    assert!(!ok);
    assert!(
        out.contains("error TS2307: Cannot find module 'math'"),
        "{out}"
    );
}

/// The declarations describe what the sandbox really does: a plugin that
/// type-checks against them runs (ES module imports of a native module's
/// named and default exports, of `fs` and `node:path`).
#[test]
fn a_plugin_that_type_checks_runs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/a.txt"), "hello").unwrap();
    let plugin = r#"// @ts-check
import math, { add, scale } from "math";
import fs from "fs";
import { join } from "node:path";

/** @param {{ dir: string }} input */
export default function (input) {
  const names = fs.readdirSync(input.dir);
  const text = fs.readFileSync(join(input.dir, names[0]), "utf8");
  const s = scale({ x: 3, y: 4 }, 2, null);
  return { sum: add({ x: 1, y: 2 }) + math.add({ x: text.length, y: 0 }), len: s.len, label: s.labelText };
}
"#;
    let opts = options(dir.path());
    let (ok, out) = check(&jsbox::types::declarations(&opts), "plugin.mjs", plugin);
    assert!(ok, "{out}");
    std::fs::write(dir.path().join("plugin.mjs"), plugin).unwrap();
    let factory = EngineFactory::new(opts.module_root(dir.path()).import("./plugin.mjs")).unwrap();
    let mut rt = factory.new_runtime().unwrap();
    let got = rt
        .call_module("./plugin.mjs", "default", [json!({"dir": "data"})])
        .unwrap();
    assert_eq!(got, json!({"sum": 8, "len": 10, "label": ""}));
}

/// The Streams declarations match the streams a plugin gets: one that
/// type-checks pipes words through a `TransformStream`, gzip and back, and
/// reads a `Blob` as a stream, in jsbox as tsc expects.
#[test]
fn a_plugin_using_streams_type_checks_and_runs() {
    let plugin = r#"// @ts-check
/** @param {{ words: string[] }} input */
export default async function (input) {
  /** @type {TransformStream<string, string>} */
  const upper = new TransformStream({ transform(chunk, controller) { controller.enqueue(chunk.toUpperCase()); } });
  /** @type {string[]} */
  const out = [];
  for await (const word of ReadableStream.from(input.words).pipeThrough(upper)) out.push(word);
  const body = new Response(out.join(" ")).body;
  if (body === null) throw new Error("a string body is a stream");
  const text = body
    .pipeThrough(new CompressionStream("gzip"))
    .pipeThrough(new DecompressionStream("gzip"))
    .pipeThrough(new TextDecoderStream());
  const reader = text.getReader();
  let round = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    round += value;
  }
  /** @type {WritableStream<Uint8Array>} */
  const sink = new WritableStream({ write(chunk) { out.push(String(chunk.byteLength)); } });
  await new Blob(["abc"]).stream().pipeTo(sink);
  return { out, round };
}
"#;
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path());
    let dts = jsbox::types::declarations(&opts);
    let (ok, out) = check(&dts, "plugin.mjs", plugin);
    assert!(ok, "{out}");
    // Formats are checked: a stream's chunk type and a compression format
    // the sandbox does not have are errors.
    let bad = "// @ts-check\nexport const c = new CompressionStream(\"brotli\");\n\
        export const n = /** @type {ReadableStream<string>} */ (ReadableStream.from([\"a\"])).pipeTo(new WritableStream({ write(/** @type {number} */ c) {} }));\n";
    let (ok, out) = check(&dts, "bad.mjs", bad);
    assert!(!ok, "tsc passed a wrong format and chunk type");
    assert!(out.contains("\"brotli\"") && out.contains("WritableStream<number>"), "{out}");
    std::fs::write(dir.path().join("plugin.mjs"), plugin).unwrap();
    let factory = EngineFactory::new(opts.module_root(dir.path()).import("./plugin.mjs")).unwrap();
    let got = factory
        .new_runtime()
        .unwrap()
        .call_module("./plugin.mjs", "default", [json!({"words": ["one", "two"]})])
        .unwrap();
    assert_eq!(got, json!({"out": ["ONE", "TWO", "3"], "round": "ONE TWO"}));
}

/// The messaging declarations match what a plugin gets: one that
/// type-checks sends a buffer (transferred) and a port through a
/// `MessageChannel` and awaits the replies, in jsbox as tsc expects.
#[test]
fn a_plugin_using_message_channel_type_checks_and_runs() {
    let plugin = r#"// @ts-check
/** @param {{ text: string }} input */
export default async function (input) {
  const { port1, port2 } = new MessageChannel();
  /** @type {Promise<MessageEvent<ArrayBuffer>>} */
  const first = new Promise((resolve) => { port2.onmessage = resolve; });
  const encoded = new TextEncoder().encode(input.text);
  const bytes = new ArrayBuffer(encoded.length);
  new Uint8Array(bytes).set(encoded);
  port1.postMessage(bytes, [bytes]);
  const got = await first;
  const side = new MessageChannel();
  /** @type {Promise<string>} */
  const reply = new Promise((resolve) => {
    side.port1.addEventListener("message", (event) => resolve(String(/** @type {MessageEvent} */ (event).data)));
  });
  port1.postMessage({ reply: side.port2 }, { transfer: [side.port2] });
  /** @type {MessageEvent<{ reply: MessagePort }>} */
  const second = await new Promise((resolve) => { port2.onmessage = resolve; });
  second.data.reply.postMessage("pong");
  const answer = await reply;
  port1.close();
  side.port1.close();
  return { text: new TextDecoder().decode(got.data), detached: bytes.byteLength, ports: got.ports.length, answer };
}
"#;
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path());
    let dts = jsbox::types::declarations(&opts);
    let (ok, out) = check(&dts, "plugin.mjs", plugin);
    assert!(ok, "{out}");
    // A port is not a message to send untransferred into a string slot, and
    // transfer lists take only transferables.
    let bad = "// @ts-check\nconst { port1 } = new MessageChannel();\n\
        port1.postMessage(1, [\"not transferable\"]);\n\
        /** @type {string} */ export const d = new MessageEvent(\"message\").ports;\n";
    let (ok, out) = check(&dts, "bad.mjs", bad);
    assert!(!ok, "tsc passed a string in a transfer list:\n{out}");
    assert!(out.contains("bad.mjs(3,") && out.contains("bad.mjs(4,"), "{out}");
    std::fs::write(dir.path().join("plugin.mjs"), plugin).unwrap();
    let factory = EngineFactory::new(opts.module_root(dir.path()).import("./plugin.mjs")).unwrap();
    let got = factory
        .new_runtime()
        .unwrap()
        .call_module("./plugin.mjs", "default", [json!({"text": "héllo"})])
        .unwrap();
    assert_eq!(got, json!({"text": "héllo", "detached": 0, "ports": 0, "answer": "pong"}));
}

/// Type-checks `plugin` (an ES module) against the declarations of the
/// sandbox [`options`] describes (no net grant), which must pass, then runs
/// its default export there: the declarations and the result.
fn check_and_run(plugin: &str) -> (String, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path());
    let dts = jsbox::types::declarations(&opts);
    let (ok, out) = check(&dts, "plugin.mjs", plugin);
    assert!(ok, "tsc failed on a correct plugin:\n{out}");
    std::fs::write(dir.path().join("plugin.mjs"), plugin).unwrap();
    let factory = EngineFactory::new(opts.module_root(dir.path()).import("./plugin.mjs")).unwrap();
    let got = factory.new_runtime().unwrap().call_module("./plugin.mjs", "default", [json!(null)]).unwrap();
    (dts, got)
}

/// `fetch` is declared in every sandbox, as it exists in every runtime: a
/// plugin with no net grant fetches a `data:` URL (decoded in the guest),
/// and any other URL rejects with a `TypeError`, as its doc says.
#[test]
fn fetch_of_a_data_url_type_checks_and_runs_without_a_net_grant() {
    let plugin = r#"// @ts-check
export default async function () {
  const response = await fetch("data:text/plain;charset=utf-8,hello%20data");
  const text = await response.text();
  const request = new Request("data:,x", { headers: new Headers({ accept: "text/plain" }) });
  const bytes = await (await fetch(request)).bytes();
  /** @type {string} */
  let refused = "resolved";
  try {
    await fetch("https://example.com/");
  } catch (e) {
    refused = e instanceof TypeError ? "TypeError" : String(e);
  }
  return { text, type: response.headers.get("content-type"), status: response.status, length: bytes.length, refused };
}
"#;
    // No net grant (`options` grants reads only).
    let (dts, got) = check_and_run(plugin);
    assert_eq!(
        got,
        json!({"text": "hello data", "type": "text/plain;charset=utf-8", "status": 200, "length": 1, "refused": "TypeError"})
    );
    // The declaration is checked: a response is not its text, and an
    // init's method is a string.
    let bad = "export const t: string = await fetch(\"data:,x\");\nexport const r = fetch(\"data:,x\", { method: 1 });\n";
    let (ok, out) = check(&dts, "bad.ts", bad);
    assert!(!ok, "tsc passed a wrong use of fetch:\n{out}");
    assert!(out.contains("bad.ts(1,14): error TS2322: Type 'Response' is not assignable to type 'string'."), "{out}");
    assert!(out.contains("bad.ts(2,"), "{out}");
}

/// `DOMException` is declared as WebIDL (and lib.dom.d.ts) has it, an
/// interface and a constructor value: `instanceof`, `name`, `code` and the
/// legacy constants type-check, and the plugin runs as tsc expects.
#[test]
fn a_plugin_using_dom_exception_type_checks_and_runs() {
    let plugin = r#"// @ts-check
export default function () {
  /** @type {unknown} */
  let caught;
  try {
    throw new DOMException("no such entry", "NotFoundError");
  } catch (e) {
    caught = e;
  }
  if (!(caught instanceof DOMException)) throw new Error("not a DOMException");
  const abort = new DOMException("stop", { name: "AbortError", cause: 1 });
  /** @type {number} */
  const code = caught.code;
  return {
    name: caught.name,
    message: caught.message,
    code,
    constant: code === DOMException.NOT_FOUND_ERR && code === caught.NOT_FOUND_ERR,
    abort: abort.code === DOMException.ABORT_ERR,
    error: caught instanceof Error,
    constructorProto: Object.getPrototypeOf(DOMException) === Function.prototype,
  };
}
"#;
    let (dts, got) = check_and_run(plugin);
    assert_eq!(
        got,
        json!({"name": "NotFoundError", "message": "no such entry", "code": 8, "constant": true, "abort": true, "error": true, "constructorProto": true})
    );
    // Wrong uses: a call without `new`, a constant it does not have, and a
    // code used as a string.
    let bad = "export const a = DOMException(\"x\");\nexport const b = DOMException.NOT_AN_ERR;\nexport const c: string = new DOMException().code;\n";
    let (ok, out) = check(&dts, "bad.ts", bad);
    assert!(!ok, "tsc passed a wrong use of DOMException:\n{out}");
    assert!(out.contains("bad.ts(1,18): error TS2348"), "{out}");
    assert!(out.contains("bad.ts(2,31): error TS2339"), "{out}");
    assert!(out.contains("bad.ts(3,14): error TS2322: Type 'number' is not assignable to type 'string'."), "{out}");
}
