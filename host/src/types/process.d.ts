/** The `process` global, as a module. */
declare module "process" {
    export const env: jsbox.Process["env"];
    export const platform: jsbox.Process["platform"];
    export const version: jsbox.Process["version"];
    export const versions: jsbox.Process["versions"];
    export const nextTick: jsbox.Process["nextTick"];
    const process: jsbox.Process;
    export default process;
}
