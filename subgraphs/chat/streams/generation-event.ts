import { type FinalStatus, GenerationStatus } from '../records/generation.record';

/** What happened in a generation; each event has the next `seq` (1, 2, 3, …). */
export enum GenerationEventType {
  START = 'START',
  TOKEN = 'TOKEN',
  USAGE = 'USAGE',
  DONE = 'DONE',
  ERROR = 'ERROR',
  STOPPED = 'STOPPED',
  /** Sent to a quiet subscriber while the generation is alive; never stored in the stream. */
  HEARTBEAT = 'HEARTBEAT',
}

export type GenerationEvent =
  | { seq: number; type: GenerationEventType.START; model: string }
  | { seq: number; type: GenerationEventType.TOKEN; delta: string }
  | {
      seq: number;
      type: GenerationEventType.USAGE;
      promptTokens: number;
      completionTokens: number;
      estimated: boolean;
    }
  | { seq: number; type: GenerationEventType.DONE }
  | { seq: number; type: GenerationEventType.STOPPED }
  | { seq: number; type: GenerationEventType.ERROR; error: string; interrupted: boolean };

/**
 * What a subscriber receives besides the stored events: the generation is alive, nothing new yet.
 * `seq` repeats the last event the subscriber received (see docs/protocol.md, "Liveness").
 */
export interface HeartbeatEvent {
  seq: number;
  type: GenerationEventType.HEARTBEAT;
}

/** The last event of every generation: after it, nothing more is ever appended. */
export const isTerminal = (event: GenerationEvent): boolean =>
  event.type === GenerationEventType.DONE ||
  event.type === GenerationEventType.STOPPED ||
  event.type === GenerationEventType.ERROR;

/** A stream entry's id is `<seq>-0`: resuming after a seq is reading after that id. */
export const entryId = (seq: number): string => `${seq}-0`;

export class MalformedEventError extends Error {
  override name = 'MalformedEventError';
}

/** The entry's fields as XADD takes them (see docs/protocol.md, "Generation events"). */
export function encodeEvent(event: GenerationEvent): string[] {
  const fields = ['type', event.type];
  switch (event.type) {
    case GenerationEventType.START:
      return [...fields, 'model', event.model];
    case GenerationEventType.TOKEN:
      return [...fields, 'delta', event.delta];
    case GenerationEventType.USAGE:
      return [
        ...fields,
        'promptTokens',
        String(event.promptTokens),
        'completionTokens',
        String(event.completionTokens),
        'estimated',
        event.estimated ? '1' : '0',
      ];
    case GenerationEventType.ERROR:
      return [...fields, 'error', event.error, 'interrupted', event.interrupted ? '1' : '0'];
    case GenerationEventType.DONE:
    case GenerationEventType.STOPPED:
      return fields;
  }
}

/** Parses a stream entry read back from Redis; anything unexpected is named in the error. */
export function decodeEvent(id: string, flat: string[]): GenerationEvent {
  const match = /^(\d+)-0$/.exec(id);
  if (!match) throw new MalformedEventError(`entry id: expected "<seq>-0", got "${id}"`);
  const seq = Number(match[1]);
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i], flat[i + 1]);
  const text = (name: string): string => {
    const value = fields.get(name);
    if (value === undefined) throw new MalformedEventError(`entry ${id}: field "${name}" is missing`);
    return value;
  };
  const count = (name: string): number => {
    const value = Number(text(name));
    if (!Number.isInteger(value) || value < 0) {
      throw new MalformedEventError(
        `entry ${id}: field "${name}" must be a count, got "${fields.get(name)}"`,
      );
    }
    return value;
  };
  const type = text('type');
  switch (type) {
    case GenerationEventType.START:
      return { seq, type, model: text('model') };
    case GenerationEventType.TOKEN:
      return { seq, type, delta: text('delta') };
    case GenerationEventType.USAGE:
      return {
        seq,
        type,
        promptTokens: count('promptTokens'),
        completionTokens: count('completionTokens'),
        estimated: text('estimated') === '1',
      };
    case GenerationEventType.ERROR:
      return { seq, type, error: text('error'), interrupted: text('interrupted') === '1' };
    case GenerationEventType.DONE:
    case GenerationEventType.STOPPED:
      return { seq, type };
    default:
      throw new MalformedEventError(`entry ${id}: unknown type "${type}"`);
  }
}

/** An event before the log numbers it. */
export type NewEvent = GenerationEvent extends infer E
  ? E extends GenerationEvent
    ? Omit<E, 'seq'>
    : never
  : never;

/** The event that ends a generation with this final status. */
export function terminalEvent(status: FinalStatus, error: string | null): NewEvent {
  switch (status) {
    case GenerationStatus.COMPLETE:
      return { type: GenerationEventType.DONE };
    case GenerationStatus.STOPPED:
      return { type: GenerationEventType.STOPPED };
    case GenerationStatus.FAILED:
    case GenerationStatus.INTERRUPTED:
      return {
        type: GenerationEventType.ERROR,
        error: error ?? 'The reply could not be completed',
        interrupted: status === GenerationStatus.INTERRUPTED,
      };
  }
}
