package io.pgrelay.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import java.sql.SQLException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class LogLineEncoderTest {

    private final LoggerContext context = new LoggerContext();

    @Test
    void printsTheLayoutOfTheLogbackPatternItReplaces() {
        LoggingEvent event = new LoggingEvent("fqcn", context.getLogger("io.pgrelay.relay.Relay"), Level.INFO,
                "stopped at {}", null, new Object[] {"0/16B3748"});
        event.setThreadName("main");
        String line = LogLineEncoder.line(event);
        assertTrue(line.matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}(Z|[+-]\\d\\d:\\d\\d) INFO  \\[main\\] "
                + "Relay - stopped at 0/16B3748\\R"), line);
    }

    @Test
    void padsTheLevelToFiveCharactersAndAppendsTheStackTrace() {
        LoggingEvent event = new LoggingEvent("fqcn", context.getLogger("x"), Level.WARN, "failed", 
                new SQLException("boom", "08006"), null);
        event.setThreadName("pgrelay-apply");
        String line = LogLineEncoder.line(event);
        assertTrue(line.contains(" WARN  [pgrelay-apply] x - failed"), line);
        assertTrue(line.contains("java.sql.SQLException: boom"), line);
        assertTrue(line.contains("\tat "), line);
        assertEquals(line.stripTrailing(), line.substring(0, line.length() - System.lineSeparator().length()).stripTrailing());
    }

    @Test
    void configuresStderrWithPgrelayLevels() {
        LogSetup.install(context);
        assertEquals(Level.WARN, context.getLogger("ROOT").getLevel());
        assertEquals(Level.WARN, context.getLogger("com.zaxxer.hikari").getLevel());
        assertTrue(context.getLogger("ROOT").getAppender("STDERR").isStarted());
    }

    @Test
    void stepsAsideForAnOperatorsFile() {
        String before = System.getProperty("logback.configurationFile");
        System.setProperty("logback.configurationFile", "/etc/pgrelay/logback.xml");
        try {
            LogSetup setup = new LogSetup();
            setup.setContext(context);
            assertEquals(ch.qos.logback.classic.spi.Configurator.ExecutionStatus.INVOKE_NEXT_IF_ANY,
                    setup.configure(context));
            assertEquals(null, context.getLogger("ROOT").getAppender("STDERR"));
        } finally {
            if (before == null) {
                System.clearProperty("logback.configurationFile");
            } else {
                System.setProperty("logback.configurationFile", before);
            }
        }
    }
}
