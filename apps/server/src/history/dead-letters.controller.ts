import { DEAD_LETTER_PAYLOAD_MAX_BYTES, DeadLetterCount, DeadLetterPosition, HistoryRepository, StoredDeadLetter } from '@fleetstream/history';
import { BadRequestException, Controller, Get, Query, UseInterceptors } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Access } from '../auth/access.decorator';
import { DEAD_LETTER_CURSOR_PATTERN, DeadLettersQueryDto } from './dead-letters-query.dto';
import { HistoryReadsInterceptor } from './history-reads.interceptor';

const DEAD_LETTER_CURSOR = new RegExp(DEAD_LETTER_CURSOR_PATTERN);

export interface DeadLetterItem extends Omit<StoredDeadLetter, 'failedAtMs' | 'key'> {
  /** null when the record had none. */
  key: string | null;
  /** Whether `payloadBase64` holds less than the whole payload (`payloadBytes`). */
  truncated: boolean;
  /** The stored payload as text when it is valid UTF-8; null otherwise. */
  preview: string | null;
}

export interface DeadLetterPage {
  count: number;
  items: DeadLetterItem[];
  /** Pass as `cursor` for the next (older) page; absent on the last page. */
  nextCursor?: string;
}

export interface DeadLetterSummary {
  total: number;
  /** Per reason and source topic, for filter pickers. */
  counts: DeadLetterCount[];
}

@ApiTags('dead-letters')
@Controller('dead-letters')
@UseInterceptors(HistoryReadsInterceptor)
@ApiResponse({ status: 403, description: 'the caller is not an admin (right `dead-letters:read`)' })
@ApiResponse({ status: 503, description: 'history is not held here and HISTORY_URL is not set or its instance cannot be reached' })
export class DeadLettersController {
  constructor(private readonly history: HistoryRepository) {}

  @Get()
  @Access('dead-letters:read')
  @ApiOperation({
    summary: 'Records the history writer dead-lettered, newest first, paged by cursor',
    description: `Each with its reason, error, source topic/partition/offset, time, key, and the first ${DEAD_LETTER_PAYLOAD_MAX_BYTES} bytes of its payload as base64 (\`truncated\` when it was longer), with a text \`preview\` when those bytes are UTF-8. The whole record stays on the dead-letter topic (\`fleetstream dlq\`).`,
  })
  @ApiResponse({ status: 200, description: 'a page of dead letters' })
  @ApiResponse({ status: 400, description: 'a query parameter out of its bounds, or a cursor this endpoint did not return' })
  async list(@Query() query: DeadLettersQueryDto): Promise<DeadLetterPage> {
    const limit = query.limit ?? 100;
    const rows = await this.history.deadLetters({
      reason: query.reason,
      sourceTopic: query.source,
      limit,
      after: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
    });
    const last = rows.at(-1);
    return {
      count: rows.length,
      items: rows.map(item),
      nextCursor: rows.length === limit && last ? encodeCursor(last) : undefined,
    };
  }

  @Get('summary')
  @Access('dead-letters:read')
  @ApiOperation({ summary: 'How many dead letters there are per reason and source topic' })
  @ApiResponse({ status: 200, description: 'the counts (empty when there are none)' })
  async summary(): Promise<DeadLetterSummary> {
    const counts = await this.history.deadLetterCounts();
    return { total: counts.reduce((sum, count) => sum + count.count, 0), counts };
  }
}

function item({ failedAtMs: _omitted, key, ...stored }: StoredDeadLetter): DeadLetterItem {
  const truncated = stored.payloadBytes > DEAD_LETTER_PAYLOAD_MAX_BYTES;
  return { ...stored, key: key === '' ? null : key, truncated, preview: utf8Text(Buffer.from(stored.payloadBase64, 'base64'), truncated) };
}

/** The bytes as text if they are UTF-8; a cut-off payload may end inside a character, which is not an error. */
function utf8Text(bytes: Buffer, truncated: boolean): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: truncated });
  } catch {
    return null;
  }
}

function encodeCursor(last: StoredDeadLetter): string {
  return `${last.failedAtMs}:${last.sourceTopic}:${last.sourcePartition}:${last.sourceOffset}`;
}

function decodeCursor(cursor: string): DeadLetterPosition {
  const match = DEAD_LETTER_CURSOR.exec(cursor);
  if (!match) throw new BadRequestException('cursor must be a nextCursor value returned by this endpoint');
  return { failedAt: Number(match[1]), sourceTopic: match[2]!, sourcePartition: Number(match[3]), sourceOffset: match[4]! };
}
