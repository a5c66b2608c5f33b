/** The `code` of what `action` throws (a ClickHouse or Node error), or undefined when it throws nothing. */
export function thrownCode(action: () => unknown): number | string | undefined {
  try {
    action();
    return undefined;
  } catch (error) {
    return (error as { code?: number | string }).code;
  }
}
