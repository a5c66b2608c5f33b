/** Ends a `switch` over a union: a forgotten case does not compile, and an unexpected value at run time says what it was. */
export function exhaustive(value: never): never {
  throw new Error(`unhandled ${JSON.stringify(value)}`);
}
