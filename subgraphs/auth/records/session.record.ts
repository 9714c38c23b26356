/** One signed-in device. */
export interface SessionRecord {
  id: string;
  createdAt: Date;
  lastUsedAt: Date;
  userAgent: string | null;
}

/** What presenting a refresh token did: rotated it, met a spent one (reuse), or found none. */
export type RefreshTokenRotation =
  | { outcome: 'rotated'; sessionId: string; userId: string }
  | { outcome: 'reused'; sessionId: string }
  | { outcome: 'unknown' };
