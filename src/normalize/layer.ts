/**
 * The layer normalizer: one streaming pass over an uncompressed layer tar that yields its entry table,
 * its digest, and the digest (and optionally the bytes) of its canonical tar.
 *
 * Which rule governs what (each can be turned off through `disabledRules`; see `LayerRules`):
 *   entry-order      sort entries with `comparePaths`          off: input order
 *   path-spelling    `./a`, `/a`, `a//b` -> `a`, `a/b`        off: names as in the input
 *   mtime            set/clamp to the epoch, whole seconds     off: input mtime
 *   extra-times      drop atime/ctime                          off: keep them (PAX)
 *   owner-names      empty uname/gname                         off: keep them
 *   tar-dialect      drop writer-specific PAX records          off: keep them
 *   hardlinks        first path of a group carries the data    off: the input's carrier
 *   duplicate-paths  last entry for a path wins                off: keep every entry
 * Never changed: content, mode, uid/gid, xattrs, ACL records, symlink targets, device numbers,
 * whiteouts (`.wh.*` files are ordinary files here, as the OCI spec defines them).
 * A duplicate replaces the earlier entry of the same path (`a` and `a/` are one path); entries under a
 * directory that a later non-directory replaces are kept, since the table describes the tar, not the
 * tree a particular runtime would build from it.
 *
 * How the canonical tar is produced (never holding a layer, or a whole large file, in memory):
 * - While the input stays in canonical order, the canonical tar is hashed during the pass itself.
 * - File contents go to a spool (memory up to 8 MiB, then one temp file; see spool.ts) so that an
 *   input that turns out not to be in canonical order (possibly late: a duplicate path at the end)
 *   can be re-emitted sorted afterwards. A layer that stays in order never reads its spool back.
 * - With `reopen`, nothing is spooled on the first pass; if the order breaks, the pass stops and the
 *   layer is read again, spooling. Disorder usually shows in the first entries, so the second read
 *   costs little; sources that can re-open a layer should pass it.
 * - With `output`, the canonical tar is written there, always from the spool after the pass, so
 *   nothing is written before the final order is known.
 * The parts: layer-scan.ts (the pass: entries from tar/reader.ts, hashes, spool), layer-table.ts
 * (duplicates, order, hardlink groups), layer-writer.ts (the canonical tar bytes).
 */
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { comparePaths, resolveLayerRules, type LayerSummary } from './entry.js';
import { scanLayer } from './layer-scan.js';
import { spillEntries } from './entry-spill.js';
import { defineSpilledEntries, finalizeTable, openTable, type CanonicalTable } from './layer-table.js';
import { CanonicalWriter, emitCanonical, waitForDrain } from './layer-writer.js';
import type { NormalizeOptions } from './options.js';
import { ContentSpool } from './spool.js';

export interface NormalizeLayerOptions extends NormalizeOptions {
  /** Receives the canonical tar; it is ended when the tar is complete, destroyed on error. */
  output?: Writable;
  /**
   * `output` is done with each chunk once that chunk's write callback has fired (it copies, as the
   * compressors of compression.ts do, or consumes it): the writer then reuses its buffers instead of
   * allocating one per MiB. Leave it unset for an output that passes chunks on (a PassThrough).
   */
  outputReleasesChunks?: boolean;
  /** Where the spool file and a spilled entry table go (default: the OS temp dir). */
  spoolDir?: string;
  /**
   * Entries held in memory before the table spills to disk as sorted runs (entry-spill.ts; default
   * `spillEntries()`, which `OCI_REPRO_SPILL_ENTRIES` sets). A spilled table is the summary's
   * `spilled`: the caller closes it (`closeSummary`) when done with the entries.
   */
  spillEntries?: number;
  /** Opens the same layer tar again from its start; lets an in-order layer skip spooling entirely. */
  reopen?: () => Readable | Promise<Readable>;
  /**
   * Check the input tar's sha256 (computed by the pass anyway) at its end, instead of a separate
   * VerifyingStream: `${what}: digest mismatch: expected ..., got ...`, before any truncation error.
   */
  expectTarDigest?: { digest: string; what: string };
  /**
   * Hash each file's content into `LayerEntry.contentDigest` (default true). The comparer needs those
   * digests; a canonical digest alone does not, and skips one sha256 over every content byte with
   * false: then no entry has a `contentDigest` (empty files and hardlinks included).
   */
  contentDigests?: boolean;
  /**
   * What an earlier pass over the same digest-checked blob found (verify's round one): the tar's and
   * the canonical tar's digests are not computed again, so nothing is spooled, an unordered layer is
   * read once, and the tar is not hashed. Only the table is built (verify's round two, for the content
   * digests). Not with `output`.
   */
  known?: KnownDigests;
}

/** A layer's digests from an earlier pass (see NormalizeLayerOptions.known). */
export interface KnownDigests {
  tarDigest: string;
  canonicalDigest: string;
  canonicalSize: number;
}

/**
 * Normalizes one uncompressed layer tar. Tar format errors reject with corruptArchive (for example
 * "unexpected end of archive", "invalid tar header at offset N"), unsupported features with
 * unsupported; callers add the layer context with `withContext`.
 */
export async function normalizeLayer(tar: Readable, options: NormalizeLayerOptions): Promise<LayerSummary> {
  const rules = resolveLayerRules(options);
  const { output } = options;
  const spools: ContentSpool[] = [];
  // Keep an output error from crashing the process; it surfaces through the awaits below.
  const ignoreOutputError = () => {};
  output?.on('error', ignoreOutputError);
  const newSpool = () => {
    const spool = new ContentSpool(options.spoolDir);
    spools.push(spool);
    return spool;
  };
  let table: CanonicalTable | undefined;
  try {
    const spill = { entries: options.spillEntries ?? spillEntries(), dir: options.spoolDir };
    const known = output === undefined ? options.known : undefined;
    const skipSpool = (options.reopen !== undefined || known !== undefined) && output === undefined;
    const { expectTarDigest } = options;
    const contentDigests = options.contentDigests ?? true;
    let scan = await scanLayer(tar, rules, {
      spool: skipSpool ? null : newSpool(),
      hashCanonical: output === undefined && known === undefined,
      stopWhenUnordered: skipSpool && known === undefined,
      expectTarDigest,
      contentDigests,
      spill,
      hashTar: known === undefined,
    });
    if (scan === null) {
      const again = await options.reopen!();
      scan = (await scanLayer(again, rules, { spool: newSpool(), hashCanonical: false, stopWhenUnordered: false, expectTarDigest, contentDigests, spill }))!;
    }

    table = finalizeTable(scan, rules);
    let canonicalDigest: string;
    let canonicalSize: number;
    if (known !== undefined) {
      ({ canonicalDigest, canonicalSize } = known);
    } else if (scan.writer !== null && output === undefined) {
      ({ digest: canonicalDigest, size: canonicalSize } = scan.writer.finish());
    } else {
      const writer = new CanonicalWriter(rules, output, options.outputReleasesChunks ?? false);
      await emitCanonical(openTable(table, scan.spoolOffsets), scan.spool!, writer);
      ({ digest: canonicalDigest, size: canonicalSize } = writer.finish());
      if (output !== undefined) {
        if (writer.needsDrain) await waitForDrain(output);
        output.end();
        await finished(output, { readable: false });
      }
    }

    output?.off('error', ignoreOutputError);
    const { spilled } = table;
    const summary: LayerSummary = {
      tarDigest: known?.tarDigest ?? scan.tarDigest,
      tarSize: scan.tarSize,
      canonicalDigest,
      canonicalSize,
      entries: table.entries,
      inCanonicalOrder: scan.inCanonicalOrder,
      duplicatePaths: spilled
        ? spilled.duplicatePaths
        : [...scan.duplicateKeys].map((key) => scan!.records[scan!.latestByKey!.get(key)!].path).sort(comparePaths),
      dialects: [...scan.dialects].sort(),
      droppedRecords: scan.droppedRecords,
    };
    return spilled === undefined ? summary : defineSpilledEntries(summary, spilled);
  } catch (error) {
    table?.spilled?.close();
    // The listener stays: a failed output emits 'error' after this, and nobody else may listen.
    if (output !== undefined && !output.destroyed) output.destroy(error as Error);
    throw error;
  } finally {
    for (const spool of spools) await spool.close();
  }
}
