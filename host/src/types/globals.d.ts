// ---- Web platform globals (docs/web-platform.md) -------------------------
// jsbox has these and nothing else of the DOM: compile with
// "lib": ["ES2023"] and "types": [] (no "DOM", no @types/node).

/** jsbox's own helper types (type-only: nothing of this exists at run time). */
declare namespace jsbox {
    /** What `setTimeout`/`setInterval` return: node's `Timeout`. */
    interface Timeout {
        ref(): this;
        unref(): this;
        hasRef(): boolean;
        refresh(): this;
        close(): this;
        [Symbol.toPrimitive](): number;
    }
    type TypedArray =
        | Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array
        | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;
    type BufferSource = ArrayBuffer | ArrayBufferView;
    /** The `process` global and `node:process`. */
    interface Process {
        /** The embedder's variables (`EngineOptions::env`, `--env`); empty by default. */
        env: Record<string, string | undefined>;
        /** `"wasi"`. */
        platform: string;
        /** `""`: jsbox is not node. */
        version: string;
        versions: { readonly jsbox: string };
        nextTick<A extends unknown[]>(callback: (...args: A) => void, ...args: A): void;
    }
    /** The `console` global and module: lines go to the embedder's console policy. */
    interface Console {
        debug(...data: unknown[]): void;
        info(...data: unknown[]): void;
        log(...data: unknown[]): void;
        warn(...data: unknown[]): void;
        error(...data: unknown[]): void;
    }
    /** A CommonJS module object (`module`). */
    interface Module {
        exports: any;
        id: string;
        filename: string;
        loaded: boolean;
    }
}

declare var console: jsbox.Console;
declare var process: jsbox.Process;
/** CommonJS: the module object of a plugin run as CommonJS. */
declare var module: jsbox.Module;
/** CommonJS: `module.exports`. */
declare var exports: any;
declare var self: typeof globalThis;

declare function setTimeout<A extends unknown[]>(callback: (...args: A) => void, ms?: number, ...args: A): jsbox.Timeout;
declare function setInterval<A extends unknown[]>(callback: (...args: A) => void, ms?: number, ...args: A): jsbox.Timeout;
declare function clearTimeout(timer: jsbox.Timeout | number | string | null | undefined): void;
declare function clearInterval(timer: jsbox.Timeout | number | string | null | undefined): void;
declare function queueMicrotask(callback: () => void): void;
/** Writes `Uncaught <error>` to `console.error`. */
declare function reportError(error: unknown): void;
/** What a transfer list may move: the original is detached. */
type Transferable = ArrayBuffer | MessagePort;
declare function structuredClone<T>(value: T, options?: { transfer?: Transferable[] }): T;
declare function atob(data: string): string;
declare function btoa(data: string): string;

interface Navigator {
    readonly userAgent: string;
}
declare var Navigator: { prototype: Navigator };
declare var navigator: Navigator;

interface Crypto {
    getRandomValues<T extends jsbox.TypedArray>(array: T): T;
    randomUUID(): `${string}-${string}-${string}-${string}-${string}`;
    readonly subtle: SubtleCrypto;
}
declare var Crypto: { prototype: Crypto };
declare var crypto: Crypto;

declare namespace jsbox {
    /** The algorithms `crypto.subtle` has (others reject with `NotSupportedError`). */
    type HashAlgorithm = "SHA-1" | "SHA-256" | "SHA-384" | "SHA-512";
    type HashAlgorithmIdentifier = HashAlgorithm | { name: HashAlgorithm };
    type KeyFormat = "raw" | "spki" | "pkcs8" | "jwk";
    type KeyUsage = "encrypt" | "decrypt" | "sign" | "verify" | "deriveKey" | "deriveBits" | "wrapKey" | "unwrapKey";
    type AlgorithmIdentifier = string | { name: string };
    interface HmacKeyParams { name: "HMAC"; hash: HashAlgorithmIdentifier; length?: number }
    interface HkdfParams { name: "HKDF"; hash: HashAlgorithmIdentifier; salt: BufferSource; info: BufferSource }
    interface Pbkdf2Params { name: "PBKDF2"; hash: HashAlgorithmIdentifier; salt: BufferSource; iterations: number }
    interface AesKeyParams { name: "AES-CBC" | "AES-CTR" | "AES-GCM" | "AES-KW"; length: 128 | 192 | 256 }
    type AesParams =
        | { name: "AES-CBC"; iv: BufferSource }
        | { name: "AES-CTR"; counter: BufferSource; length: number }
        | { name: "AES-GCM"; iv: BufferSource; additionalData?: BufferSource; tagLength?: number };
    type WrapParams = AesParams | "AES-KW" | { name: "AES-KW" };
    /** The curves jsbox has. */
    type NamedCurve = "P-256" | "P-384" | "P-521";
    interface EcKeyParams { name: "ECDSA" | "ECDH"; namedCurve: NamedCurve }
    interface EcdsaParams { name: "ECDSA"; hash: HashAlgorithmIdentifier }
    interface EcdhParams { name: "ECDH"; public: CryptoKey }
    interface JsonWebKey {
        kty?: string; k?: string; alg?: string; ext?: boolean; key_ops?: string[]; use?: string;
        crv?: string; x?: string; y?: string; d?: string;
        [member: string]: unknown;
    }
    interface KeyAlgorithm { name: string; hash?: { name: string }; length?: number; namedCurve?: string }
}

/** A key of `crypto.subtle`: made only by its methods. */
interface CryptoKey {
    readonly type: "secret" | "public" | "private";
    readonly extractable: boolean;
    readonly algorithm: jsbox.KeyAlgorithm;
    readonly usages: jsbox.KeyUsage[];
}
declare var CryptoKey: { prototype: CryptoKey };

/** An asymmetric key pair from `crypto.subtle.generateKey`. */
interface CryptoKeyPair {
    publicKey: CryptoKey;
    privateKey: CryptoKey;
}

/** `crypto.subtle`: digests (SHA-1/256/384/512), HMAC, AES (CBC, CTR, GCM, KW), HKDF, PBKDF2, and
 *  ECDSA and ECDH on P-256, P-384 and P-521. */
interface SubtleCrypto {
    digest(algorithm: jsbox.HashAlgorithmIdentifier, data: jsbox.BufferSource): Promise<ArrayBuffer>;
    generateKey(algorithm: jsbox.EcKeyParams, extractable: boolean, keyUsages: jsbox.KeyUsage[]): Promise<CryptoKeyPair>;
    generateKey(algorithm: jsbox.HmacKeyParams | jsbox.AesKeyParams, extractable: boolean,
        keyUsages: jsbox.KeyUsage[]): Promise<CryptoKey>;
    importKey(format: "jwk", keyData: jsbox.JsonWebKey,
        algorithm: jsbox.AlgorithmIdentifier | jsbox.HmacKeyParams | jsbox.EcKeyParams, extractable: boolean, keyUsages: jsbox.KeyUsage[]): Promise<CryptoKey>;
    importKey(format: Exclude<jsbox.KeyFormat, "jwk">, keyData: jsbox.BufferSource,
        algorithm: jsbox.AlgorithmIdentifier | jsbox.HmacKeyParams | jsbox.EcKeyParams, extractable: boolean,
        keyUsages: jsbox.KeyUsage[]): Promise<CryptoKey>;
    exportKey(format: "jwk", key: CryptoKey): Promise<jsbox.JsonWebKey>;
    exportKey(format: Exclude<jsbox.KeyFormat, "jwk">, key: CryptoKey): Promise<ArrayBuffer>;
    sign(algorithm: jsbox.AlgorithmIdentifier | jsbox.EcdsaParams, key: CryptoKey, data: jsbox.BufferSource): Promise<ArrayBuffer>;
    verify(algorithm: jsbox.AlgorithmIdentifier | jsbox.EcdsaParams, key: CryptoKey, signature: jsbox.BufferSource,
        data: jsbox.BufferSource): Promise<boolean>;
    deriveBits(algorithm: jsbox.HkdfParams | jsbox.Pbkdf2Params | jsbox.EcdhParams, baseKey: CryptoKey, length?: number | null): Promise<ArrayBuffer>;
    deriveKey(algorithm: jsbox.HkdfParams | jsbox.Pbkdf2Params | jsbox.EcdhParams, baseKey: CryptoKey,
        derivedKeyType: jsbox.AlgorithmIdentifier | jsbox.HmacKeyParams | jsbox.AesKeyParams, extractable: boolean,
        keyUsages: jsbox.KeyUsage[]): Promise<CryptoKey>;
    encrypt(algorithm: jsbox.AesParams, key: CryptoKey, data: jsbox.BufferSource): Promise<ArrayBuffer>;
    decrypt(algorithm: jsbox.AesParams, key: CryptoKey, data: jsbox.BufferSource): Promise<ArrayBuffer>;
    wrapKey(format: jsbox.KeyFormat, key: CryptoKey, wrappingKey: CryptoKey,
        wrapAlgorithm: jsbox.WrapParams): Promise<ArrayBuffer>;
    unwrapKey(format: jsbox.KeyFormat, wrappedKey: jsbox.BufferSource, unwrappingKey: CryptoKey,
        unwrapAlgorithm: jsbox.WrapParams,
        unwrappedKeyAlgorithm: jsbox.AlgorithmIdentifier | jsbox.HmacKeyParams | jsbox.AesKeyParams | jsbox.EcKeyParams,
        extractable: boolean, keyUsages: jsbox.KeyUsage[]): Promise<CryptoKey>;
}
declare var SubtleCrypto: { prototype: SubtleCrypto };

// DOMException as WebIDL (and TypeScript's lib.dom.d.ts) declares it: an
// interface and a constructor value, not a class, since the constructor
// does not inherit from `Error` (its prototype object does).
/** An `Error` object (its prototype inherits from `Error.prototype`) with a WebIDL `name` and legacy `code`. */
interface DOMException extends Error {
    /** The legacy code of `name` (one of the constants), or 0. */
    readonly code: number;
    readonly message: string;
    readonly name: string;
    readonly INDEX_SIZE_ERR: 1;
    readonly DOMSTRING_SIZE_ERR: 2;
    readonly HIERARCHY_REQUEST_ERR: 3;
    readonly WRONG_DOCUMENT_ERR: 4;
    readonly INVALID_CHARACTER_ERR: 5;
    readonly NO_DATA_ALLOWED_ERR: 6;
    readonly NO_MODIFICATION_ALLOWED_ERR: 7;
    readonly NOT_FOUND_ERR: 8;
    readonly NOT_SUPPORTED_ERR: 9;
    readonly INUSE_ATTRIBUTE_ERR: 10;
    readonly INVALID_STATE_ERR: 11;
    readonly SYNTAX_ERR: 12;
    readonly INVALID_MODIFICATION_ERR: 13;
    readonly NAMESPACE_ERR: 14;
    readonly INVALID_ACCESS_ERR: 15;
    readonly VALIDATION_ERR: 16;
    readonly TYPE_MISMATCH_ERR: 17;
    readonly SECURITY_ERR: 18;
    readonly NETWORK_ERR: 19;
    readonly ABORT_ERR: 20;
    readonly URL_MISMATCH_ERR: 21;
    readonly QUOTA_EXCEEDED_ERR: 22;
    readonly TIMEOUT_ERR: 23;
    readonly INVALID_NODE_TYPE_ERR: 24;
    readonly DATA_CLONE_ERR: 25;
}
declare var DOMException: {
    prototype: DOMException;
    /** `options` is the name (`"Error"` by default) or, as in node, `{ name, cause }`. */
    new(message?: string, options?: string | { name?: string; cause?: unknown }): DOMException;
    readonly INDEX_SIZE_ERR: 1;
    readonly DOMSTRING_SIZE_ERR: 2;
    readonly HIERARCHY_REQUEST_ERR: 3;
    readonly WRONG_DOCUMENT_ERR: 4;
    readonly INVALID_CHARACTER_ERR: 5;
    readonly NO_DATA_ALLOWED_ERR: 6;
    readonly NO_MODIFICATION_ALLOWED_ERR: 7;
    readonly NOT_FOUND_ERR: 8;
    readonly NOT_SUPPORTED_ERR: 9;
    readonly INUSE_ATTRIBUTE_ERR: 10;
    readonly INVALID_STATE_ERR: 11;
    readonly SYNTAX_ERR: 12;
    readonly INVALID_MODIFICATION_ERR: 13;
    readonly NAMESPACE_ERR: 14;
    readonly INVALID_ACCESS_ERR: 15;
    readonly VALIDATION_ERR: 16;
    readonly TYPE_MISMATCH_ERR: 17;
    readonly SECURITY_ERR: 18;
    readonly NETWORK_ERR: 19;
    readonly ABORT_ERR: 20;
    readonly URL_MISMATCH_ERR: 21;
    readonly QUOTA_EXCEEDED_ERR: 22;
    readonly TIMEOUT_ERR: 23;
    readonly INVALID_NODE_TYPE_ERR: 24;
    readonly DATA_CLONE_ERR: 25;
};

interface EventInit {
    bubbles?: boolean;
    cancelable?: boolean;
    composed?: boolean;
}
declare class Event {
    constructor(type: string, options?: EventInit);
    readonly type: string;
    readonly bubbles: boolean;
    readonly cancelable: boolean;
    readonly composed: boolean;
    readonly defaultPrevented: boolean;
    readonly timeStamp: number;
    readonly target: EventTarget | null;
    readonly currentTarget: EventTarget | null;
    readonly srcElement: EventTarget | null;
    readonly eventPhase: number;
    readonly isTrusted: boolean;
    returnValue: boolean;
    cancelBubble: boolean;
    composedPath(): EventTarget[];
    preventDefault(): void;
    stopPropagation(): void;
    stopImmediatePropagation(): void;
    static readonly NONE: 0;
    static readonly CAPTURING_PHASE: 1;
    static readonly AT_TARGET: 2;
    static readonly BUBBLING_PHASE: 3;
}
interface CustomEventInit<T = unknown> extends EventInit {
    detail?: T;
}
declare class CustomEvent<T = unknown> extends Event {
    constructor(type: string, options?: CustomEventInit<T>);
    readonly detail: T;
}
interface EventListener {
    (event: Event): void;
}
interface EventListenerObject {
    handleEvent(event: Event): void;
}
type EventListenerOrEventListenerObject = EventListener | EventListenerObject;
interface AddEventListenerOptions {
    capture?: boolean;
    once?: boolean;
    passive?: boolean;
    signal?: AbortSignal;
}
declare class EventTarget {
    constructor();
    addEventListener(type: string, callback: EventListenerOrEventListenerObject | null, options?: AddEventListenerOptions | boolean): void;
    removeEventListener(type: string, callback: EventListenerOrEventListenerObject | null, options?: { capture?: boolean } | boolean): void;
    dispatchEvent(event: Event): boolean;
}

declare class AbortSignal extends EventTarget {
    private constructor();
    readonly aborted: boolean;
    readonly reason: any;
    onabort: ((this: AbortSignal, event: Event) => any) | null;
    throwIfAborted(): void;
    static abort(reason?: any): AbortSignal;
    /** Needs timers: throws `NotSupportedError` in a runtime without them. */
    static timeout(milliseconds: number): AbortSignal;
    static any(signals: Iterable<AbortSignal>): AbortSignal;
}
declare class AbortController {
    constructor();
    readonly signal: AbortSignal;
    abort(reason?: any): void;
}

interface MessageEventInit<T = any> {
    data?: T;
    origin?: string;
    lastEventId?: string;
    source?: MessagePort | null;
    ports?: Iterable<MessagePort>;
}
declare class MessageEvent<T = any> extends Event {
    constructor(type: string, init?: MessageEventInit<T>);
    readonly data: T;
    readonly origin: string;
    readonly lastEventId: string;
    readonly source: MessagePort | null;
    readonly ports: MessagePort[];
}
interface StructuredSerializeOptions {
    transfer?: Transferable[];
}
/**
 * One end of a `MessageChannel`. Messages are structured-cloned and
 * delivered as tasks of the runtime's event loop; a port receives once
 * `start()`ed, given an `onmessage`, or given a `'message'` listener.
 */
declare class MessagePort extends EventTarget {
    private constructor();
    postMessage(message: any, transfer?: Transferable[] | StructuredSerializeOptions): void;
    start(): void;
    close(): void;
    onmessage: ((this: MessagePort, event: MessageEvent) => any) | null;
    onmessageerror: ((this: MessagePort, event: MessageEvent) => any) | null;
    /** Node's; no effect on when a jsbox call ends. */
    ref(): void;
    /** Node's; no effect on when a jsbox call ends. */
    unref(): void;
    hasRef(): boolean;
}
declare class MessageChannel {
    constructor();
    readonly port1: MessagePort;
    readonly port2: MessagePort;
}

declare class Performance extends EventTarget {
    private constructor();
    /** Milliseconds since this runtime's time origin. */
    now(): number;
    readonly timeOrigin: number;
    toJSON(): { timeOrigin: number };
}
declare var performance: Performance;

declare class TextEncoder {
    constructor();
    readonly encoding: "utf-8";
    encode(input?: string): Uint8Array;
    encodeInto(source: string, destination: Uint8Array): { read: number; written: number };
}
declare class TextDecoder {
    /** Any encoding of the Encoding Standard, by one of its labels (`"utf-8"` by default); an unknown label is a `RangeError`. */
    constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
    /** The canonical lower-case name (`"utf-8"`, `"windows-1252"`, `"shift_jis"`, ...). */
    readonly encoding: string;
    readonly fatal: boolean;
    readonly ignoreBOM: boolean;
    decode(input?: jsbox.BufferSource, options?: { stream?: boolean }): string;
}

declare class URLSearchParams {
    constructor(init?: string[][] | Record<string, string> | string | URLSearchParams | Iterable<readonly [string, string]>);
    readonly size: number;
    append(name: string, value: string): void;
    delete(name: string, value?: string): void;
    get(name: string): string | null;
    getAll(name: string): string[];
    has(name: string, value?: string): boolean;
    set(name: string, value: string): void;
    sort(): void;
    forEach(callback: (value: string, key: string, parent: URLSearchParams) => void, thisArg?: any): void;
    entries(): IterableIterator<[string, string]>;
    keys(): IterableIterator<string>;
    values(): IterableIterator<string>;
    [Symbol.iterator](): IterableIterator<[string, string]>;
    toString(): string;
}
declare class URL {
    constructor(url: string | URL, base?: string | URL);
    static canParse(url: string | URL, base?: string | URL): boolean;
    static parse(url: string | URL, base?: string | URL): URL | null;
    href: string;
    readonly origin: string;
    protocol: string;
    username: string;
    password: string;
    host: string;
    hostname: string;
    port: string;
    pathname: string;
    search: string;
    readonly searchParams: URLSearchParams;
    hash: string;
    toString(): string;
    toJSON(): string;
}

/** The URL Pattern Standard's pattern: its init dictionary and results. */
interface URLPatternInit {
    protocol?: string;
    username?: string;
    password?: string;
    hostname?: string;
    port?: string;
    pathname?: string;
    search?: string;
    hash?: string;
    baseURL?: string;
}
type URLPatternInput = string | URLPatternInit;
interface URLPatternOptions {
    ignoreCase?: boolean;
}
interface URLPatternComponentResult {
    input: string;
    groups: Record<string, string | undefined>;
}
interface URLPatternResult {
    inputs: [URLPatternInput] | [URLPatternInput, string];
    protocol: URLPatternComponentResult;
    username: URLPatternComponentResult;
    password: URLPatternComponentResult;
    hostname: URLPatternComponentResult;
    port: URLPatternComponentResult;
    pathname: URLPatternComponentResult;
    search: URLPatternComponentResult;
    hash: URLPatternComponentResult;
}
declare class URLPattern {
    constructor(input: URLPatternInput, baseURL: string, options?: URLPatternOptions);
    constructor(input?: URLPatternInput, options?: URLPatternOptions);
    test(input?: URLPatternInput, baseURL?: string): boolean;
    exec(input?: URLPatternInput, baseURL?: string): URLPatternResult | null;
    readonly protocol: string;
    readonly username: string;
    readonly password: string;
    readonly hostname: string;
    readonly port: string;
    readonly pathname: string;
    readonly search: string;
    readonly hash: string;
    readonly hasRegExpGroups: boolean;
}

// Streams (the Streams Standard; compiled on first use). Generic over the
// chunk type, as TypeScript's own DOM declarations are.
interface QueuingStrategySize<T = any> {
    (chunk: T): number;
}
interface QueuingStrategy<T = any> {
    highWaterMark?: number;
    size?: QueuingStrategySize<T>;
}
interface QueuingStrategyInit {
    highWaterMark: number;
}
declare class ByteLengthQueuingStrategy implements QueuingStrategy<ArrayBufferView> {
    constructor(init: QueuingStrategyInit);
    readonly highWaterMark: number;
    readonly size: QueuingStrategySize<ArrayBufferView>;
}
declare class CountQueuingStrategy implements QueuingStrategy {
    constructor(init: QueuingStrategyInit);
    readonly highWaterMark: number;
    readonly size: QueuingStrategySize;
}
interface UnderlyingSource<R = any> {
    type?: undefined;
    start?(controller: ReadableStreamDefaultController<R>): any;
    pull?(controller: ReadableStreamDefaultController<R>): void | PromiseLike<void>;
    cancel?(reason?: any): void | PromiseLike<void>;
}
interface UnderlyingByteSource {
    type: "bytes";
    autoAllocateChunkSize?: number;
    start?(controller: ReadableByteStreamController): any;
    pull?(controller: ReadableByteStreamController): void | PromiseLike<void>;
    cancel?(reason?: any): void | PromiseLike<void>;
}
interface UnderlyingSink<W = any> {
    start?(controller: WritableStreamDefaultController): any;
    write?(chunk: W, controller: WritableStreamDefaultController): void | PromiseLike<void>;
    close?(): void | PromiseLike<void>;
    abort?(reason?: any): void | PromiseLike<void>;
}
interface Transformer<I = any, O = any> {
    start?(controller: TransformStreamDefaultController<O>): any;
    transform?(chunk: I, controller: TransformStreamDefaultController<O>): void | PromiseLike<void>;
    flush?(controller: TransformStreamDefaultController<O>): void | PromiseLike<void>;
    cancel?(reason?: any): void | PromiseLike<void>;
    readableType?: undefined;
    writableType?: undefined;
}
type ReadableStreamReadResult<T> = { done: false; value: T } | { done: true; value?: T };
interface StreamPipeOptions {
    preventAbort?: boolean;
    preventCancel?: boolean;
    preventClose?: boolean;
    signal?: AbortSignal;
}
interface ReadableWritablePair<R = any, W = any> {
    readable: ReadableStream<R>;
    writable: WritableStream<W>;
}
declare class ReadableStream<R = any> {
    constructor(underlyingSource: UnderlyingByteSource, strategy?: { highWaterMark?: number });
    constructor(underlyingSource?: UnderlyingSource<R>, strategy?: QueuingStrategy<R>);
    /** A stream of what an iterable or async iterable yields. */
    static from<T>(asyncIterable: AsyncIterable<T> | Iterable<T | PromiseLike<T>>): ReadableStream<T>;
    readonly locked: boolean;
    cancel(reason?: any): Promise<void>;
    getReader(options: { mode: "byob" }): ReadableStreamBYOBReader;
    getReader(options?: { mode?: undefined }): ReadableStreamDefaultReader<R>;
    pipeThrough<T>(transform: ReadableWritablePair<T, R>, options?: StreamPipeOptions): ReadableStream<T>;
    pipeTo(destination: WritableStream<R>, options?: StreamPipeOptions): Promise<void>;
    tee(): [ReadableStream<R>, ReadableStream<R>];
    values(options?: { preventCancel?: boolean }): AsyncIterableIterator<R>;
    [Symbol.asyncIterator](options?: { preventCancel?: boolean }): AsyncIterableIterator<R>;
}
declare class ReadableStreamDefaultReader<R = any> {
    constructor(stream: ReadableStream<R>);
    readonly closed: Promise<undefined>;
    cancel(reason?: any): Promise<void>;
    read(): Promise<ReadableStreamReadResult<R>>;
    releaseLock(): void;
}
declare class ReadableStreamBYOBReader {
    constructor(stream: ReadableStream<Uint8Array>);
    readonly closed: Promise<undefined>;
    cancel(reason?: any): Promise<void>;
    read<T extends ArrayBufferView>(view: T, options?: { min?: number }): Promise<ReadableStreamReadResult<T>>;
    releaseLock(): void;
}
declare class ReadableStreamDefaultController<R = any> {
    private constructor();
    readonly desiredSize: number | null;
    close(): void;
    enqueue(chunk?: R): void;
    error(e?: any): void;
}
declare class ReadableByteStreamController {
    private constructor();
    readonly byobRequest: ReadableStreamBYOBRequest | null;
    readonly desiredSize: number | null;
    close(): void;
    enqueue(chunk: ArrayBufferView): void;
    error(e?: any): void;
}
declare class ReadableStreamBYOBRequest {
    private constructor();
    readonly view: ArrayBufferView | null;
    respond(bytesWritten: number): void;
    respondWithNewView(view: ArrayBufferView): void;
}
declare class WritableStream<W = any> {
    constructor(underlyingSink?: UnderlyingSink<W>, strategy?: QueuingStrategy<W>);
    readonly locked: boolean;
    abort(reason?: any): Promise<void>;
    close(): Promise<void>;
    getWriter(): WritableStreamDefaultWriter<W>;
}
declare class WritableStreamDefaultWriter<W = any> {
    constructor(stream: WritableStream<W>);
    readonly closed: Promise<undefined>;
    readonly desiredSize: number | null;
    readonly ready: Promise<undefined>;
    abort(reason?: any): Promise<void>;
    close(): Promise<void>;
    releaseLock(): void;
    write(chunk?: W): Promise<void>;
}
declare class WritableStreamDefaultController {
    private constructor();
    readonly signal: AbortSignal;
    error(e?: any): void;
}
declare class TransformStream<I = any, O = any> {
    constructor(transformer?: Transformer<I, O>, writableStrategy?: QueuingStrategy<I>, readableStrategy?: QueuingStrategy<O>);
    readonly readable: ReadableStream<O>;
    readonly writable: WritableStream<I>;
}
declare class TransformStreamDefaultController<O = any> {
    private constructor();
    readonly desiredSize: number | null;
    enqueue(chunk?: O): void;
    error(reason?: any): void;
    terminate(): void;
}
declare class TextEncoderStream extends TransformStream<string, Uint8Array> {
    constructor();
    readonly encoding: "utf-8";
}
declare class TextDecoderStream extends TransformStream<jsbox.BufferSource, string> {
    constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
    readonly encoding: string;
    readonly fatal: boolean;
    readonly ignoreBOM: boolean;
}
type CompressionFormat = "gzip" | "deflate" | "deflate-raw";
declare class CompressionStream extends TransformStream<jsbox.BufferSource, Uint8Array> {
    constructor(format: CompressionFormat);
}
declare class DecompressionStream extends TransformStream<jsbox.BufferSource, Uint8Array> {
    constructor(format: CompressionFormat);
}
// fetch, Headers, Request and Response exist in every runtime, granted net
// access or not.
type HeadersInit = [string, string][] | Record<string, string> | Headers;
declare class Headers {
    constructor(init?: HeadersInit);
    append(name: string, value: string): void;
    delete(name: string): void;
    get(name: string): string | null;
    getSetCookie(): string[];
    has(name: string): boolean;
    set(name: string, value: string): void;
    forEach(callback: (value: string, key: string, parent: Headers) => void, thisArg?: any): void;
    entries(): IterableIterator<[string, string]>;
    keys(): IterableIterator<string>;
    values(): IterableIterator<string>;
    [Symbol.iterator](): IterableIterator<[string, string]>;
}
// Blob, File and FormData (compiled on first use).
type BlobPart = jsbox.BufferSource | Blob | string;
interface BlobPropertyBag {
    type?: string;
    endings?: "transparent" | "native";
}
declare class Blob {
    constructor(blobParts?: Iterable<BlobPart>, options?: BlobPropertyBag);
    readonly size: number;
    readonly type: string;
    slice(start?: number, end?: number, contentType?: string): Blob;
    text(): Promise<string>;
    arrayBuffer(): Promise<ArrayBuffer>;
    bytes(): Promise<Uint8Array>;
    stream(): ReadableStream<Uint8Array>;
}
interface FilePropertyBag extends BlobPropertyBag {
    lastModified?: number;
}
declare class File extends Blob {
    constructor(fileBits: Iterable<BlobPart>, fileName: string, options?: FilePropertyBag);
    readonly name: string;
    readonly lastModified: number;
}
type FormDataEntryValue = File | string;
declare class FormData {
    constructor();
    append(name: string, value: string): void;
    append(name: string, value: Blob, filename?: string): void;
    set(name: string, value: string): void;
    set(name: string, value: Blob, filename?: string): void;
    delete(name: string): void;
    get(name: string): FormDataEntryValue | null;
    getAll(name: string): FormDataEntryValue[];
    has(name: string): boolean;
    forEach(callback: (value: FormDataEntryValue, key: string, parent: FormData) => void, thisArg?: any): void;
    entries(): IterableIterator<[string, FormDataEntryValue]>;
    keys(): IterableIterator<string>;
    values(): IterableIterator<FormDataEntryValue>;
    [Symbol.iterator](): IterableIterator<[string, FormDataEntryValue]>;
}
type BodyInit = string | ArrayBuffer | ArrayBufferView | URLSearchParams | Blob | FormData | ReadableStream<Uint8Array>;
interface Body {
    /** The body as a byte stream (null when there is none). */
    readonly body: ReadableStream<Uint8Array> | null;
    readonly bodyUsed: boolean;
    text(): Promise<string>;
    json(): Promise<any>;
    arrayBuffer(): Promise<ArrayBuffer>;
    bytes(): Promise<Uint8Array>;
    blob(): Promise<Blob>;
    /** By the content type: multipart/form-data or application/x-www-form-urlencoded. */
    formData(): Promise<FormData>;
}
type RequestInfo = Request | string | URL;
interface RequestInit {
    method?: string;
    headers?: HeadersInit;
    body?: BodyInit | null;
    redirect?: "follow" | "error" | "manual";
    signal?: AbortSignal | null;
    /** Required (as `"half"`) when `body` is a `ReadableStream`, as in node. */
    duplex?: "half";
}
declare class Request implements Body {
    constructor(input: RequestInfo, init?: RequestInit);
    readonly url: string;
    readonly method: string;
    readonly headers: Headers;
    readonly redirect: "follow" | "error" | "manual";
    readonly signal: AbortSignal;
    readonly cache: string;
    readonly credentials: string;
    readonly destination: string;
    readonly integrity: string;
    readonly keepalive: boolean;
    readonly mode: string;
    readonly referrer: string;
    readonly duplex: "half";
    clone(): Request;
    readonly body: ReadableStream<Uint8Array> | null;
    readonly bodyUsed: boolean;
    text(): Promise<string>;
    json(): Promise<any>;
    arrayBuffer(): Promise<ArrayBuffer>;
    bytes(): Promise<Uint8Array>;
    blob(): Promise<Blob>;
    formData(): Promise<FormData>;
}
interface ResponseInit {
    status?: number;
    statusText?: string;
    headers?: HeadersInit;
}
declare class Response implements Body {
    constructor(body?: BodyInit | null, init?: ResponseInit);
    static error(): Response;
    static redirect(url: string | URL, status?: number): Response;
    static json(data: any, init?: ResponseInit): Response;
    readonly type: "basic" | "cors" | "default" | "error" | "opaque" | "opaqueredirect";
    readonly url: string;
    readonly redirected: boolean;
    readonly status: number;
    readonly ok: boolean;
    readonly statusText: string;
    readonly headers: Headers;
    clone(): Response;
    readonly body: ReadableStream<Uint8Array> | null;
    readonly bodyUsed: boolean;
    text(): Promise<string>;
    json(): Promise<any>;
    arrayBuffer(): Promise<ArrayBuffer>;
    bytes(): Promise<Uint8Array>;
    blob(): Promise<Blob>;
    formData(): Promise<FormData>;
}

/**
 * Fetches `input`. A `data:` URL is decoded in the sandbox and needs no grant. Any other URL reaches only the
 * hosts the sandbox grants (`--allow-net`, `EngineOptions::allow_net`): without a net grant, only `data:` URLs
 * resolve, and every other URL rejects with a `TypeError` (as does a host that is not granted).
 */
declare function fetch(input: RequestInfo, init?: RequestInit): Promise<Response>;
