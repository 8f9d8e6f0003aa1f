/** Types of ports.mjs, for the tests that import it. */
export declare function freePort(): Promise<number>;
