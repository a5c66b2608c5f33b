import { useState } from 'preact/hooks';
import { ForbiddenError, ROLE_MAY_NOT, useGet } from '../api';
import { CursorPager, useCursorPages } from '../components/cursor-pager';

/** A dead letter as GET /dead-letters shows it (apps/server/src/history/dead-letters.controller.ts). */
interface DeadLetter {
  reason: string;
  error: string;
  sourceTopic: string;
  sourcePartition: number;
  sourceOffset: string;
  failedAt: string;
  key: string | null;
  payloadBase64: string;
  payloadBytes: number;
  truncated: boolean;
  preview: string | null;
}

interface Summary {
  total: number;
  counts: Array<{ reason: string; sourceTopic: string; count: number }>;
}

interface Filters {
  reason: string;
  source: string;
}

const PAGE = 25;
/** The hex view shows this much of the payload: enough to see a header or a framing, without a DOM of 64 KiB. */
const HEX_BYTES = 1024;

const problemText = (what: string, error: Error) => (error instanceof ForbiddenError ? ROLE_MAY_NOT : `Could not load ${what}: ${error.message}`);

/** Totals per value of one field, over the counts that match the other filter: what each picker offers. */
function tally(summary: Summary, field: 'reason' | 'sourceTopic', other: (count: Summary['counts'][number]) => boolean): Array<[string, number]> {
  const totals = new Map<string, number>();
  for (const count of summary.counts.filter(other)) totals.set(count[field], (totals.get(count[field]) ?? 0) + count.count);
  return [...totals];
}

/** Offset, 16 bytes in hex, and the printable ASCII of those bytes, one line each. */
function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += 16) {
    const row = [...bytes.subarray(offset, offset + 16)];
    const hex = row.map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
    const ascii = row.map((byte) => (byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.')).join('');
    lines.push(`${offset.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines.join('\n');
}

function bytesOf(base64: string): Uint8Array {
  return Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
}

function Inspector({ letter, onClose }: { letter: DeadLetter; onClose(): void }) {
  const bytes = bytesOf(letter.payloadBase64);
  return (
    <article data-testid="dead-letter-details" aria-label="Dead letter details">
      <header>
        <strong>
          {letter.sourceTopic} [{letter.sourcePartition}] @ {letter.sourceOffset}
        </strong>
      </header>
      <dl>
        <dt>Reason</dt>
        <dd>{letter.reason}</dd>
        <dt>Error</dt>
        <dd data-testid="dead-letter-error">{letter.error}</dd>
        <dt>Dead-lettered</dt>
        <dd>{new Date(letter.failedAt).toLocaleString()}</dd>
        <dt>Key</dt>
        <dd>{letter.key === null ? <em>none</em> : <code>{letter.key}</code>}</dd>
        <dt>Payload</dt>
        <dd>
          {letter.payloadBytes} bytes
          {letter.truncated && ` (the first ${bytes.length} are kept here; the whole record is on the dead-letter topic: fleetstream dlq)`}
        </dd>
      </dl>
      {letter.preview !== null && (
        <>
          <h3>Text</h3>
          <pre data-testid="dead-letter-text">{letter.preview}</pre>
        </>
      )}
      <h3>Hex{bytes.length > HEX_BYTES && ` (first ${HEX_BYTES} bytes)`}</h3>
      <pre data-testid="dead-letter-hex">{hexDump(bytes.subarray(0, HEX_BYTES))}</pre>
      <footer>
        <button type="button" class="secondary" onClick={onClose}>
          Close
        </button>
      </footer>
    </article>
  );
}

/**
 * Records the history writer dead-lettered (GET /dead-letters, admins only), filtered by reason and
 * source topic with pickers from GET /dead-letters/summary, newest first, paged by cursor; Inspect
 * shows one with its payload as text (when UTF-8) and hex.
 */
export function DeadLettersPage() {
  const [filters, setFilters] = useState<Filters>({ reason: '', source: '' });
  const pages = useCursorPages();
  const { cursor } = pages;
  const [summary] = useGet<Summary>('/dead-letters/summary', {}, []);
  const [load] = useGet<{ items: DeadLetter[]; nextCursor?: string }>('/dead-letters', { ...filters, limit: PAGE, cursor }, [filters, cursor]);
  const [inspected, setInspected] = useState<DeadLetter | null>(null);


  const pick = (next: Filters) => {
    pages.restart();
    setInspected(null);
    setFilters(next);
  };
  const reasons = summary.state === 'loaded' ? tally(summary, 'reason', (count) => !filters.source || count.sourceTopic === filters.source) : [];
  const sources = summary.state === 'loaded' ? tally(summary, 'sourceTopic', (count) => !filters.reason || count.reason === filters.reason) : [];

  return (
    <>
      <h1>Dead letters</h1>
      {summary.state === 'loaded' && (
        <p data-testid="dead-letters-total">
          {summary.total} dead-lettered record{summary.total === 1 ? '' : 's'} in history.
        </p>
      )}
      {summary.state === 'failed' && <p role="alert">{problemText('the counts', summary.error)}</p>}
      <form class="filters" aria-label="Dead letter filters" onSubmit={(event) => event.preventDefault()}>
        <label>
          Reason
          <select name="reason" value={filters.reason} onChange={(event) => pick({ ...filters, reason: event.currentTarget.value })}>
            <option value="">any</option>
            {reasons.map(([reason, count]) => (
              <option value={reason}>
                {reason} ({count})
              </option>
            ))}
          </select>
        </label>
        <label>
          Source topic
          <select name="source" value={filters.source} onChange={(event) => pick({ ...filters, source: event.currentTarget.value })}>
            <option value="">any</option>
            {sources.map(([source, count]) => (
              <option value={source}>
                {source} ({count})
              </option>
            ))}
          </select>
        </label>
      </form>
      {load.state === 'loading' && <p aria-busy="true">Loading dead letters…</p>}
      {load.state === 'failed' && <p role="alert">{problemText('dead letters', load.error)}</p>}
      {load.state === 'loaded' &&
        (load.items.length === 0 ? (
          <p data-testid="dead-letters-empty">No dead letter matches.</p>
        ) : (
          <div class="overflow-auto">
            <table data-testid="dead-letters">
              <thead>
                <tr>
                  <th scope="col">Dead-lettered</th>
                  <th scope="col">Reason</th>
                  <th scope="col">Source</th>
                  <th scope="col">Key</th>
                  <th scope="col">Bytes</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {load.items.map((letter) => (
                  <tr key={`${letter.sourceTopic}:${letter.sourcePartition}:${letter.sourceOffset}`} data-key={letter.key ?? ''}>
                    <td>{new Date(letter.failedAt).toLocaleString()}</td>
                    <td>{letter.reason}</td>
                    <td>
                      {letter.sourceTopic} [{letter.sourcePartition}] @ {letter.sourceOffset}
                    </td>
                    <th scope="row">{letter.key ?? <em>none</em>}</th>
                    <td>{letter.payloadBytes}</td>
                    <td>
                      <button type="button" class="outline" onClick={() => setInspected(letter)}>
                        Inspect
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
      <CursorPager pages={pages} nextCursor={load.state === 'loaded' ? load.nextCursor : undefined} />
      {inspected && <Inspector letter={inspected} onClose={() => setInspected(null)} />}
    </>
  );
}
