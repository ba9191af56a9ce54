package io.pgrelay.fuzz;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Splits what a client sent into wire frames: untyped startup packets first, then typed messages. */
public final class WireFrames {

    private WireFrames() {}

    public static List<byte[]> split(byte[] stream) {
        List<byte[]> frames = new ArrayList<>();
        ByteBuffer in = ByteBuffer.wrap(stream);
        boolean startup = true;
        while (in.remaining() >= 4) {
            int at = in.position();
            int length = startup ? in.getInt(at) : 1 + in.getInt(at + 1);
            if (length < 4 || length > in.remaining()) {
                break;
            }
            byte[] frame = Arrays.copyOfRange(stream, at, at + length);
            frames.add(frame);
            in.position(at + length);
            if (startup) {
                int code = ByteBuffer.wrap(frame).getInt(4);
                startup = code == ClientSessions.SSL_REQUEST || code == 80_877_104; // SSL or GSSENC request: startup follows
            }
        }
        if (in.hasRemaining()) {
            frames.add(Arrays.copyOfRange(stream, in.position(), stream.length));
        }
        return frames;
    }
}
