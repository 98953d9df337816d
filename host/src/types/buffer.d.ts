/** The npm `buffer` package 6.0.3 (node's `Buffer` for browsers); no global `Buffer`. */
declare module "buffer" {
    export type BufferEncoding =
        | "hex" | "utf8" | "utf-8" | "ascii" | "latin1" | "binary" | "base64"
        | "ucs2" | "ucs-2" | "utf16le" | "utf-16le";
    export interface Buffer extends Omit<Uint8Array, "slice" | "subarray" | "includes" | "indexOf" | "lastIndexOf" | "fill" | "toString" | "toJSON" | "compare" | "equals"> {
        toString(encoding?: BufferEncoding, start?: number, end?: number): string;
        toJSON(): { type: "Buffer"; data: number[] };
        equals(other: Uint8Array): boolean;
        compare(target: Uint8Array, start?: number, end?: number, thisStart?: number, thisEnd?: number): -1 | 0 | 1;
        includes(value: string | number | Uint8Array, byteOffset?: number, encoding?: BufferEncoding): boolean;
        indexOf(value: string | number | Uint8Array, byteOffset?: number, encoding?: BufferEncoding): number;
        lastIndexOf(value: string | number | Uint8Array, byteOffset?: number, encoding?: BufferEncoding): number;
        write(string: string, offset?: number, length?: number, encoding?: BufferEncoding): number;
        slice(start?: number, end?: number): Buffer;
        subarray(start?: number, end?: number): Buffer;
        copy(target: Uint8Array, targetStart?: number, sourceStart?: number, sourceEnd?: number): number;
        fill(value: string | number | Uint8Array, offset?: number, end?: number, encoding?: BufferEncoding): this;
        swap16(): this;
        swap32(): this;
        swap64(): this;
        readUInt8(offset?: number): number;
        readUInt16LE(offset?: number): number;
        readUInt16BE(offset?: number): number;
        readUInt32LE(offset?: number): number;
        readUInt32BE(offset?: number): number;
        readUIntLE(offset: number, byteLength: number): number;
        readUIntBE(offset: number, byteLength: number): number;
        readInt8(offset?: number): number;
        readInt16LE(offset?: number): number;
        readInt16BE(offset?: number): number;
        readInt32LE(offset?: number): number;
        readInt32BE(offset?: number): number;
        readIntLE(offset: number, byteLength: number): number;
        readIntBE(offset: number, byteLength: number): number;
        readBigUInt64LE(offset?: number): bigint;
        readBigUInt64BE(offset?: number): bigint;
        readBigInt64LE(offset?: number): bigint;
        readBigInt64BE(offset?: number): bigint;
        readFloatLE(offset?: number): number;
        readFloatBE(offset?: number): number;
        readDoubleLE(offset?: number): number;
        readDoubleBE(offset?: number): number;
        writeUInt8(value: number, offset?: number): number;
        writeUInt16LE(value: number, offset?: number): number;
        writeUInt16BE(value: number, offset?: number): number;
        writeUInt32LE(value: number, offset?: number): number;
        writeUInt32BE(value: number, offset?: number): number;
        writeUIntLE(value: number, offset: number, byteLength: number): number;
        writeUIntBE(value: number, offset: number, byteLength: number): number;
        writeInt8(value: number, offset?: number): number;
        writeInt16LE(value: number, offset?: number): number;
        writeInt16BE(value: number, offset?: number): number;
        writeInt32LE(value: number, offset?: number): number;
        writeInt32BE(value: number, offset?: number): number;
        writeIntLE(value: number, offset: number, byteLength: number): number;
        writeIntBE(value: number, offset: number, byteLength: number): number;
        writeBigUInt64LE(value: bigint, offset?: number): number;
        writeBigUInt64BE(value: bigint, offset?: number): number;
        writeBigInt64LE(value: bigint, offset?: number): number;
        writeBigInt64BE(value: bigint, offset?: number): number;
        writeFloatLE(value: number, offset?: number): number;
        writeFloatBE(value: number, offset?: number): number;
        writeDoubleLE(value: number, offset?: number): number;
        writeDoubleBE(value: number, offset?: number): number;
    }
    export interface BufferConstructor {
        new(arg: number | string | ArrayBuffer | ArrayLike<number>, encodingOrOffset?: BufferEncoding | number, length?: number): Buffer;
        readonly prototype: Buffer;
        poolSize: number;
        from(value: string, encoding?: BufferEncoding): Buffer;
        from(value: ArrayBuffer, byteOffset?: number, length?: number): Buffer;
        from(value: ArrayLike<number> | Uint8Array | { type: "Buffer"; data: number[] }): Buffer;
        alloc(size: number, fill?: string | number | Uint8Array, encoding?: BufferEncoding): Buffer;
        allocUnsafe(size: number): Buffer;
        allocUnsafeSlow(size: number): Buffer;
        isBuffer(value: unknown): value is Buffer;
        isEncoding(encoding: string): encoding is BufferEncoding;
        compare(a: Uint8Array, b: Uint8Array): -1 | 0 | 1;
        concat(list: readonly Uint8Array[], totalLength?: number): Buffer;
        byteLength(value: string | ArrayBuffer | ArrayBufferView, encoding?: BufferEncoding): number;
    }
    export const Buffer: BufferConstructor;
    export function SlowBuffer(size: number): Buffer;
    export const INSPECT_MAX_BYTES: number;
    export const kMaxLength: number;
    const buffer: {
        Buffer: typeof Buffer;
        SlowBuffer: typeof SlowBuffer;
        INSPECT_MAX_BYTES: number;
        kMaxLength: number;
    };
    export default buffer;
}
