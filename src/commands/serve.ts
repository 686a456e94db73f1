/** `colo serve`: starts the server and shuts it down gracefully on SIGINT/SIGTERM. */
import type { ColoConfig } from '../config';
import type { Logger } from '../core/log';
import { startColo } from '../app/colo';

export async function serveCommand(config: Readonly<ColoConfig>, log: Logger): Promise<void> {
  const colo = await startColo(config, log);
  const stop = (signal: string) => {
    colo.shutdown(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('shutdown failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}
