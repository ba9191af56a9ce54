package io.pgrelay.changelog;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brings a changelog directory to a consistent state at open: every segment present and in
 * sequence, the last one ending at the end of its last complete transaction.
 */
final class Recovery {

    private static final Logger log = LoggerFactory.getLogger(Changelog.class);

    /** The recovered log: segments oldest first, the last is {@code current}, valid up to {@code end}. */
    record Result(List<Segment> segments, Segment current, long end, Definitions definitions, long lastKey,
                  long endLsn) {}

    private Recovery() {}

    static Result run(Path dir, ChangelogOptions options) throws IOException {
        TreeMap<Long, Path> files = Changelog.listSegments(dir);
        List<Segment> segments = new ArrayList<>();
        boolean directoryChanged = false;
        long expectedSeq = files.isEmpty() ? 0 : files.firstKey();
        List<Map.Entry<Long, Path>> entries = new ArrayList<>(files.entrySet());
        for (int i = 0; i < entries.size(); i++) {
            long seq = entries.get(i).getKey();
            Path path = entries.get(i).getValue();
            boolean last = i == entries.size() - 1;
            if (seq != expectedSeq) {
                throw new ChangelogCorruptException("changelog in " + dir + ": segment " + expectedSeq
                        + " is missing (next present: " + path.getFileName() + ")");
            }
            expectedSeq++;
            RecordFormat.SegmentHeader header = readHeader(path);
            if (header == null || header.seq() != seq
                    || header.firstKey() != RecordFormat.parseSegmentKey(path.getFileName().toString())) {
                if (!last) {
                    throw new ChangelogCorruptException("changelog segment " + path + " has an invalid header");
                }
                if (segments.isEmpty() && seq != 0) {
                    throw new ChangelogCorruptException("changelog segment " + path
                            + " has an invalid header and is the only segment left");
                }
                long size = Files.size(path);
                Files.delete(path);
                directoryChanged = true;
                log.warn("changelog recovery: deleted segment {} with a torn header ({} bytes)", path.getFileName(), size);
                continue;
            }
            Segment s = new Segment(path, header);
            s.sealedSize = Files.size(path);
            segments.add(s);
        }

        Result result = null;
        boolean steppedBack = false;
        while (result == null) {
            if (segments.isEmpty()) {
                result = createFirst(dir);
                directoryChanged = false;
                break;
            }
            Segment last = segments.get(segments.size() - 1);
            try (FileChannel ch = FileChannel.open(last.path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                long size = ch.size();
                SegmentScan scan = SegmentScan.scan(last, ch, size, options);
                if (scan.badHeaderBlock) {
                    if (steppedBack || (segments.size() == 1 && last.seq() != 0)) {
                        throw new ChangelogCorruptException("changelog segment " + last + ": " + scan.invalidReason);
                    }
                    ch.close();
                    Files.delete(last.path);
                    segments.remove(segments.size() - 1);
                    directoryChanged = true;
                    log.warn("changelog recovery: deleted segment {} with a torn header block ({} bytes): {}", last, size,
                            scan.invalidReason);
                    continue;
                }
                if (steppedBack && scan.invalidReason != null) {
                    throw new ChangelogCorruptException("changelog segment " + last + " (not the last one): "
                            + scan.invalidReason);
                }
                if (scan.boundary < 0) {
                    if (segments.size() == 1) {
                        throw new ChangelogCorruptException("changelog segment " + last
                                + " holds only part of a transaction whose beginning is gone");
                    }
                    ch.close();
                    Files.delete(last.path);
                    segments.remove(segments.size() - 1);
                    directoryChanged = true;
                    steppedBack = true;
                    log.warn("changelog recovery: deleted segment {} ({} bytes): it holds only part of an incomplete"
                            + " transaction{}", last, size, scan.invalidReason == null ? "" : " and " + scan.invalidReason);
                    continue;
                }
                if (size > scan.boundary) {
                    ch.truncate(scan.boundary);
                    ch.force(false);
                    long torn = size - scan.validEnd;
                    long incomplete = scan.validEnd - scan.boundary;
                    log.warn("changelog recovery: truncated segment {} from {} to {} bytes ({} bytes of torn data{};"
                            + " {} bytes of an incomplete transaction)", last, size, scan.boundary, torn,
                            scan.invalidReason == null ? "" : ": " + scan.invalidReason, incomplete);
                }
                last.sealedSize = -1;
                last.firstUnitKey = scan.firstUnitKeyBeforeBoundary;
                result = new Result(List.copyOf(segments), last, scan.boundary, scan.definitions, scan.lastKey,
                        scan.endLsn);
            }
        }
        if (directoryChanged) {
            Changelog.fsyncDirectory(dir);
        }
        return result;
    }

    private static Result createFirst(Path dir) throws IOException {
        RecordFormat.SegmentHeader header = new RecordFormat.SegmentHeader(0, 0, 0, 0, 0, 0, 0);
        Path path = dir.resolve(RecordFormat.segmentFileName(0, 0));
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer b = header.encode();
            while (b.hasRemaining()) {
                ch.write(b, b.position());
            }
            ch.force(false);
        }
        Changelog.fsyncDirectory(dir);
        log.info("changelog: created segment {} in a new changelog in {}", path.getFileName(), dir);
        Segment s = new Segment(path, header);
        s.firstUnitKey = 0L;
        return new Result(List.of(s), s, header.recordsStart(), new Definitions(), 0, 0);
    }

    /** The header of a segment file; null when it is short or invalid. */
    static RecordFormat.SegmentHeader readHeader(Path path) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            return readHeader(ch);
        }
    }

    static RecordFormat.SegmentHeader readHeader(FileChannel ch) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(RecordFormat.SEGMENT_HEADER_BYTES);
        while (b.hasRemaining()) {
            if (ch.read(b, b.position()) < 0) {
                return null;
            }
        }
        return RecordFormat.SegmentHeader.decode(b.flip());
    }
}
