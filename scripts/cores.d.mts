/** Types of cores.mjs, for the tests that import it. */
export declare const MAX_CORE: number;
export declare function cpuList(text: string): number[];
export declare function allowedCores(status: string): number[];
export declare function splitCores(
  wanted: string,
  own: readonly number[],
  usable: (cores: number[]) => boolean,
): { enclave: number[]; others: number[]; error?: undefined } | { error: string; enclave?: undefined; others?: undefined };
