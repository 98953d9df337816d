/** The `console` global, as a module. */
declare module "console" {
    export const debug: jsbox.Console["debug"];
    export const info: jsbox.Console["info"];
    export const log: jsbox.Console["log"];
    export const warn: jsbox.Console["warn"];
    export const error: jsbox.Console["error"];
    const console: jsbox.Console;
    export default console;
}
