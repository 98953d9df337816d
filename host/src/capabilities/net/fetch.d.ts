/** Only to the hosts the sandbox grants (`--allow-net`); other requests reject with a `TypeError`. A `data:` URL needs no grant (it is decoded in the sandbox). */
declare function fetch(input: RequestInfo, init?: RequestInit): Promise<Response>;
