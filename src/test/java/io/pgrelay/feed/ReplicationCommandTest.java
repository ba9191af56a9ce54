package io.pgrelay.feed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.feed.ReplicationCommand.CreateSlot;
import io.pgrelay.feed.ReplicationCommand.DropSlot;
import io.pgrelay.feed.ReplicationCommand.StartReplication;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The command forms pgjdbc, pg_recvlogical and libpqwalreceiver send. */
@Timeout(5)
class ReplicationCommandTest {

    @Test
    void createSlotInOldAndNewSyntax() {
        assertEquals(new CreateSlot("s1", false, "pgoutput"),
                ReplicationCommand.parse("CREATE_REPLICATION_SLOT \"s1\" LOGICAL pgoutput"));
        assertEquals(new CreateSlot("s1", false, "pgoutput"),
                ReplicationCommand.parse("CREATE_REPLICATION_SLOT \"s1\" LOGICAL \"pgoutput\" NOEXPORT_SNAPSHOT"));
        assertEquals(new CreateSlot("s1", true, "pgoutput"),
                ReplicationCommand.parse("CREATE_REPLICATION_SLOT \"s1\" TEMPORARY LOGICAL \"pgoutput\" (SNAPSHOT 'nothing');"));
        assertEquals(new CreateSlot("mixed", false, "test_decoding"),
                ReplicationCommand.parse("create_replication_slot MIXED logical test_decoding"));
    }

    @Test
    void createSlotAsksForAnExportedSnapshot() {
        assertEquals(new CreateSlot("s1", false, "pgoutput", true),
                ReplicationCommand.parse("CREATE_REPLICATION_SLOT s1 LOGICAL pgoutput (SNAPSHOT 'export')"));
        assertEquals(new CreateSlot("s1", false, "pgoutput", true),
                ReplicationCommand.parse("CREATE_REPLICATION_SLOT s1 LOGICAL pgoutput EXPORT_SNAPSHOT"));
        assertEquals(new CreateSlot("s1", false, "pgoutput", false),
                ReplicationCommand.parse("CREATE_REPLICATION_SLOT s1 LOGICAL pgoutput (SNAPSHOT 'use')"));
        assertEquals(new CreateSlot("s1", false, "pgoutput", false),
                ReplicationCommand.parse("CREATE_REPLICATION_SLOT s1 LOGICAL pgoutput NOEXPORT_SNAPSHOT"));
    }

    @Test
    void dropSlotWithAndWithoutWait() {
        assertEquals(new DropSlot("s1", true), ReplicationCommand.parse("DROP_REPLICATION_SLOT \"s1\" WAIT"));
        assertEquals(new DropSlot("s1", false), ReplicationCommand.parse("DROP_REPLICATION_SLOT s1"));
    }

    @Test
    void startReplicationWithOptions() {
        StartReplication start = (StartReplication) ReplicationCommand.parse(
                "START_REPLICATION SLOT \"s1\" LOGICAL 1/A2B3C4 (\"proto_version\" '1', \"publication_names\" '\"p\",\"it''s\"', messages 'true')");
        assertEquals("s1", start.slot());
        assertEquals((1L << 32) | 0xA2B3C4L, start.startLsn());
        assertEquals(Map.of("proto_version", "1", "publication_names", "\"p\",\"it's\"", "messages", "true"), start.options());
        StartReplication bare = (StartReplication) ReplicationCommand.parse("START_REPLICATION SLOT s LOGICAL 0/0");
        assertTrue(bare.options().isEmpty());
        assertThrows(IllegalArgumentException.class,
                () -> ReplicationCommand.parse("START_REPLICATION SLOT s LOGICAL 0/0 (proto_version '1' garbage ''')"));
    }

    @Test
    void everythingElseIsSqlOrShow() {
        assertInstanceOf(ReplicationCommand.IdentifySystem.class, ReplicationCommand.parse(" identify_system ;"));
        assertEquals(new ReplicationCommand.Show("data_directory_mode"), ReplicationCommand.parse("SHOW data_directory_mode"));
        assertInstanceOf(ReplicationCommand.Sql.class, ReplicationCommand.parse("SELECT 1"));
        assertInstanceOf(ReplicationCommand.Empty.class, ReplicationCommand.parse(" ; "));
    }

    @Test
    void publicationNamesSplitLikeIdentifiers() throws Exception {
        assertEquals(Set.of("p", "My Pub", "a\"b"), FeedCommands.publicationNames("P, \"My Pub\" ,\"a\"\"b\""));
        assertThrows(FeedCommands.CommandError.class, () -> FeedCommands.publicationNames("a,,b"));
        assertThrows(FeedCommands.CommandError.class, () -> FeedCommands.publicationNames("\"open"));
    }
}
