package io.pgrelay.metrics;

import io.pgrelay.config.Masking;
import io.pgrelay.config.RelayConfig;
import io.pgrelay.feed.Feed;
import io.pgrelay.feed.FeedSlot;
import io.pgrelay.relay.Relay;
import io.pgrelay.source.StreamPositions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.postgresql.replication.LogSequenceNumber;

/** One consistent look at a running relay, as served on {@code /status}. Never holds a secret. */
public record StatusReport(String relay, String upstream, String upstreamSlot, String downstream, boolean streaming,
                           String failure, String receivedLsn, String checkpointLsn, String checkpointCommitTime,
                           double applyLagBytes, double endToEndLagSeconds, double upstreamRetainedWalBytes,
                           String upstreamWalStatus, FeedStatus feed) {

    public record FeedStatus(String listen, int clients, long changelogBytes, List<SlotStatus> slots) {}

    public record SlotStatus(String name, String confirmedLsn, long lagBytes, boolean active, boolean lost) {}

    static StatusReport of(Relay relay, RelayMetrics metrics) {
        RelayConfig config = relay.config();
        StreamPositions positions = relay.positions();
        Instant commitTime = positions == null ? null : positions.durable().commitTime();
        UpstreamSlotState slot = metrics.upstreamSlot();
        return new StatusReport(config.relayName(), Masking.maskUrl(config.upstream().url()), config.upstreamSlot(),
                Masking.maskUrl(config.downstream().url()), relay.isStreaming(), relay.failure(),
                positions == null ? null : positions.upstreamEnd().asString(),
                positions == null ? null : positions.durable().endLsn().asString(),
                commitTime == null ? null : commitTime.toString(),
                metrics.applyLagBytes(), metrics.endToEndLagSeconds(), slot.retainedWalBytes(), slot.walStatus(),
                feed(relay.feed()));
    }

    private static FeedStatus feed(Feed feed) {
        if (feed == null) {
            return null;
        }
        List<SlotStatus> slots = new ArrayList<>();
        long end = feed.changelogEnd();
        for (FeedSlot slot : feed.slots().all()) {
            slots.add(new SlotStatus(slot.name(), LogSequenceNumber.valueOf(slot.confirmedLsn()).asString(),
                    Math.max(0, end - slot.confirmedLsn()), feed.isStreaming(slot.name()), slot.lost()));
        }
        return new FeedStatus(feed.listenAddress(), feed.clients(), feed.retainedBytes(), slots);
    }

    /** One screen for operators. */
    public String toText() {
        StringBuilder text = new StringBuilder();
        line(text, "relay", relay + (failure != null ? "  FAILED: " + failure : streaming ? "  streaming" : "  not streaming"));
        line(text, "upstream", upstream + "  slot " + upstreamSlot
                + (upstreamWalStatus == null || upstreamWalStatus.equals("unknown") ? ""
                : "  (" + upstreamWalStatus + ", retains " + bytes(upstreamRetainedWalBytes) + " of WAL)"));
        line(text, "downstream", downstream);
        line(text, "received", orDash(receivedLsn));
        line(text, "checkpoint", orDash(checkpointLsn) + (checkpointCommitTime == null ? "" : "  committed at root " + checkpointCommitTime));
        line(text, "lag", bytes(applyLagBytes) + " behind upstream, "
                + (Double.isNaN(endToEndLagSeconds) ? "-" : String.format(Locale.ROOT, "%.3f s", endToEndLagSeconds)) + " behind root");
        if (feed == null) {
            line(text, "feed", "off");
        } else {
            line(text, "feed", feed.listen() + "  " + feed.clients() + " client(s), changelog " + bytes(feed.changelogBytes()));
            if (!feed.slots().isEmpty()) {
                text.append(String.format(Locale.ROOT, "  %-24s %-14s %12s  %s%n", "slot", "confirmed", "lag", "state"));
                for (SlotStatus slot : feed.slots()) {
                    text.append(String.format(Locale.ROOT, "  %-24s %-14s %12s  %s%n", slot.name(), slot.confirmedLsn(),
                            bytes(slot.lagBytes()), slot.lost() ? "LOST" : slot.active() ? "streaming" : "idle"));
                }
            }
        }
        return text.toString();
    }

    private static void line(StringBuilder text, String label, String value) {
        text.append(String.format(Locale.ROOT, "%-11s %s%n", label, value));
    }

    private static String orDash(String value) {
        return value == null ? "-" : value;
    }

    private static String bytes(double bytes) {
        if (Double.isNaN(bytes)) {
            return "-";
        }
        String[] units = {"B", "kB", "MB", "GB", "TB"};
        int unit = 0;
        while (bytes >= 1024 && unit < units.length - 1) {
            bytes /= 1024;
            unit++;
        }
        return unit == 0 ? String.format(Locale.ROOT, "%.0f B", bytes) : String.format(Locale.ROOT, "%.1f %s", bytes, units[unit]);
    }

    public String toJson() {
        StringBuilder json = new StringBuilder("{");
        field(json, "relay", relay).field(json, "upstream", upstream).field(json, "upstream_slot", upstreamSlot)
                .field(json, "downstream", downstream).field(json, "streaming", streaming).field(json, "failure", failure)
                .field(json, "received_lsn", receivedLsn).field(json, "checkpoint_lsn", checkpointLsn)
                .field(json, "checkpoint_commit_time", checkpointCommitTime).field(json, "apply_lag_bytes", applyLagBytes)
                .field(json, "end_to_end_lag_seconds", endToEndLagSeconds)
                .field(json, "upstream_slot_retained_wal_bytes", upstreamRetainedWalBytes)
                .field(json, "upstream_slot_wal_status", upstreamWalStatus);
        json.append("\"feed\":");
        if (feed == null) {
            json.append("null");
        } else {
            json.append('{');
            field(json, "listen", feed.listen()).field(json, "clients", feed.clients()).field(json, "changelog_bytes", feed.changelogBytes());
            json.append("\"slots\":[");
            for (int i = 0; i < feed.slots().size(); i++) {
                SlotStatus s = feed.slots().get(i);
                json.append(i == 0 ? "{" : ",{");
                field(json, "name", s.name()).field(json, "confirmed_lsn", s.confirmedLsn()).field(json, "lag_bytes", s.lagBytes())
                        .field(json, "active", s.active());
                json.append("\"lost\":").append(s.lost()).append('}');
            }
            json.append("]}");
        }
        return json.append("}\n").toString();
    }

    private StatusReport field(StringBuilder json, String name, Object value) {
        json.append('"').append(name).append("\":");
        if (value == null || value instanceof Double d && (d.isNaN() || d.isInfinite())) {
            json.append("null");
        } else if (value instanceof Number || value instanceof Boolean) {
            json.append(value instanceof Double d && d == Math.rint(d) ? String.format(Locale.ROOT, "%.0f", d) : value);
        } else {
            json.append('"');
            for (char c : value.toString().toCharArray()) {
                switch (c) {
                    case '"' -> json.append("\\\"");
                    case '\\' -> json.append("\\\\");
                    case '\n' -> json.append("\\n");
                    default -> {
                        if (c < 0x20) {
                            json.append(String.format("\\u%04x", (int) c));
                        } else {
                            json.append(c);
                        }
                    }
                }
            }
            json.append('"');
        }
        json.append(',');
        return this;
    }
}
