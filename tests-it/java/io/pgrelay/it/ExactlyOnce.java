package io.pgrelay.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Compares a database that a {@link CounterWorkload} was replicated into with what the workload
 * committed: every counter increment and every event row exactly once. Counts what was lost and
 * what was doubled, so a report can show both figures (which must be 0), and asserts.
 */
public final class ExactlyOnce {

    /** Counter increments and event rows missing, and present more than once. */
    public record Tally(long lostIncrements, long doubledIncrements, long lostEvents, long extraEvents) {
        public long lost() {
            return lostIncrements + lostEvents;
        }

        public long doubled() {
            return doubledIncrements + extraEvents;
        }

        @Override
        public String toString() {
            return "lost: " + lostIncrements + " increments, " + lostEvents + " events; doubled: " + doubledIncrements
                    + " increments, " + extraEvents + " events";
        }
    }

    private ExactlyOnce() {}

    /** Lost and doubled rows in database {@code db} of {@code cluster} against the stopped {@code workload}. */
    public static Tally tally(PgCluster cluster, String db, CounterWorkload workload) throws SQLException {
        long lostIncrements = 0;
        long doubledIncrements = 0;
        for (List<String> row : cluster.query(db, CounterWorkload.COUNTERS_SQL)) {
            long difference = Long.parseLong(row.get(1)) - workload.expected(Integer.parseInt(row.get(0)));
            if (difference < 0) {
                lostIncrements -= difference;
            } else {
                doubledIncrements += difference;
            }
        }
        long events = workload.events();
        List<String> inRange = cluster.query(db, "SELECT count(*) FROM events WHERE id BETWEEN 1 AND " + events).get(0);
        List<String> outside = cluster.query(db, "SELECT count(*) FROM events WHERE id NOT BETWEEN 1 AND " + events).get(0);
        long lostEvents = events - Long.parseLong(inRange.get(0));
        long extraEvents = Long.parseLong(outside.get(0));
        return new Tally(lostIncrements, doubledIncrements, lostEvents, extraEvents);
    }

    /** The rows {@link CounterWorkload#COUNTERS_SQL} must return. */
    public static List<List<String>> expectedCounters(CounterWorkload workload) {
        List<List<String>> rows = new ArrayList<>();
        for (int id = 1; id <= CounterWorkload.COUNTERS; id++) {
            rows.add(List.of(Integer.toString(id), Long.toString(workload.expected(id))));
        }
        return rows;
    }

    /** The row {@link CounterWorkload#EVENTS_SQL} must return: ids 1..N, gapless. */
    public static List<List<String>> expectedEvents(CounterWorkload workload) {
        long events = workload.events();
        return List.of(List.of(Long.toString(events), events == 0 ? null : "1", events == 0 ? null : Long.toString(events),
                events == 0 ? null : Long.toString(events * (events + 1) / 2)));
    }

    /** Asserts that database {@code db} of {@code cluster} holds exactly what the workload committed. */
    public static void assertExact(PgCluster cluster, String db, CounterWorkload workload, String what) throws SQLException {
        assertEquals(expectedCounters(workload), cluster.query(db, CounterWorkload.COUNTERS_SQL),
                what + " counters: an increment was lost or applied twice (" + tally(cluster, db, workload) + ")");
        assertEquals(expectedEvents(workload), cluster.query(db, CounterWorkload.EVENTS_SQL),
                what + " events are not gapless 1.." + workload.events() + " (" + tally(cluster, db, workload) + ")");
    }
}
