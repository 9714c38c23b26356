import { ChromaClient } from 'chromadb';

/** The Chroma JS client takes host, port and ssl apart; the platform configures one URL. */
export function createChromaClient(url: string): ChromaClient {
  const parsed = new URL(url);
  const ssl = parsed.protocol === 'https:';
  return new ChromaClient({
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : ssl ? 443 : 80,
    ssl,
  });
}
