/** POSIX paths, rooted at "/" (never above it). */
declare module "path" {
    export const sep: "/";
    export function join(...segments: string[]): string;
    export function resolve(...segments: string[]): string;
    export function dirname(path: string): string;
    export function basename(path: string, ext?: string): string;
    export function extname(path: string): string;
    export function isAbsolute(path: string): boolean;
    export function normalize(path: string): string;
    const path: {
        sep: "/";
        join: typeof join;
        resolve: typeof resolve;
        dirname: typeof dirname;
        basename: typeof basename;
        extname: typeof extname;
        isAbsolute: typeof isAbsolute;
        normalize: typeof normalize;
    };
    export default path;
}
