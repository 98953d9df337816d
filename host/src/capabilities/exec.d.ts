/**
 * Runs the programs the sandbox allows (`--allow-exec`), directly (no
 * shell), with an empty environment but `PATH` and no stdin.
 */
declare module "exec" {
    export interface Output {
        /** The exit code; `null` when a signal ended the program. */
        status: number | null;
        stdout: string;
        stderr: string;
    }
    export function run(program: string, args?: string[] | null): Output;
    const exec: { run: typeof run };
    export default exec;
}
