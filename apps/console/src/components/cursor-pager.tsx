import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';

/** Paging by the API's cursors: the cursors of the pages before this one (Previous goes back to the last), and this page's own. */
export interface CursorPages {
  /** This page's cursor (undefined: the first page), for the GET. */
  cursor: string | undefined;
  /** 1-based. */
  number: number;
  /** Back one page; undefined on the first. */
  previous: (() => void) | undefined;
  next(nextCursor: string): void;
  /** Back to the first page (new filters, another page size). */
  restart(): void;
}

export function useCursorPages(): CursorPages {
  const [earlier, setEarlier] = useState<Array<string | undefined>>([]);
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  return {
    cursor,
    number: earlier.length + 1,
    previous:
      earlier.length === 0
        ? undefined
        : () => {
            setCursor(earlier[earlier.length - 1]);
            setEarlier(earlier.slice(0, -1));
          },
    next: (nextCursor) => {
      setEarlier([...earlier, cursor]);
      setCursor(nextCursor);
    },
    restart: () => {
      setEarlier([]);
      setCursor(undefined);
    },
  };
}

/** Previous, the page number and Next (while the answer names a next page); `children` after them (a page size). */
export function CursorPager({ pages, nextCursor, children }: { pages: CursorPages; nextCursor: string | undefined; children?: ComponentChildren }) {
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" class="secondary" disabled={!pages.previous} onClick={pages.previous}>
        Previous
      </button>
      <span data-testid="page-number">Page {pages.number}</span>
      <button type="button" class="secondary" disabled={!nextCursor} onClick={() => nextCursor && pages.next(nextCursor)}>
        Next
      </button>
      {children}
    </nav>
  );
}
