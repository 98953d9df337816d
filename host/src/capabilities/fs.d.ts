/**
 * Files under the directories the sandbox grants (`--allow-read`,
 * `--allow-write`); paths relative to its working directory. Anything else
 * throws.
 */
declare module "fs" {
    /** The whole file as UTF-8 text (whatever the encoding argument says). */
    export function readFileSync(path: string, encoding?: string | { encoding?: string | null } | null): string;
    /** Needs a write grant. */
    export function writeFileSync(path: string, data: string): void;
    /** The names of the directory's entries. */
    export function readdirSync(path: string): string[];
    export function existsSync(path: string): boolean;
    /** Needs a write grant. */
    export function mkdirSync(path: string, options?: { recursive?: boolean } | null): void;
    const fs: {
        readFileSync: typeof readFileSync;
        writeFileSync: typeof writeFileSync;
        readdirSync: typeof readdirSync;
        existsSync: typeof existsSync;
        mkdirSync: typeof mkdirSync;
    };
    export default fs;
}
