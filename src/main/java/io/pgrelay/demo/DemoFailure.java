package io.pgrelay.demo;

/** The demo cannot go on; the message is the one line to print. */
final class DemoFailure extends RuntimeException {

    DemoFailure(String message) {
        super(message);
    }
}
