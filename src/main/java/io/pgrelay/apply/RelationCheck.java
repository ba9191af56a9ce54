package io.pgrelay.apply;

import io.pgrelay.decode.PgOutputMessage.Relation;
import io.pgrelay.decode.PgOutputMessage.Type;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * Sees every Relation (and Type) message before changes use it, on the apply thread, with the
 * apply connection inside the open downstream transaction: it may alter the downstream table
 * (committed with the changes and the checkpoint) or throw to stop the relay at its last
 * checkpoint.
 */
public interface RelationCheck {

    RelationCheck NONE = (downstream, previous, relation) -> { };

    /** A Type message: names a non-built-in type that following Relation messages use. */
    default void type(Type type) {
    }

    /**
     * @param previous the Relation message this relation id had earlier in the session, or null
     */
    void relation(Connection downstream, Relation previous, Relation relation) throws SQLException;
}
