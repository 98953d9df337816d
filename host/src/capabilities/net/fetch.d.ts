/** Only to the hosts the sandbox grants (`--allow-net`); other requests reject with a `TypeError`. */
declare function fetch(input: RequestInfo, init?: RequestInit): Promise<Response>;
