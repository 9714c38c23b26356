/** One thing a user asked the assistant to remember. */
export interface MemoryRecord {
  id: string;
  ownerId: string;
  text: string;
  createdAt: Date;
}
