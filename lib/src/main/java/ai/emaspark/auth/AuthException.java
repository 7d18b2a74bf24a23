package ai.emaspark.auth;

import java.io.IOException;

/** A peer that does not prove it knows the run's secret, or a frame whose MAC does not match. */
public final class AuthException extends IOException {
    private static final long serialVersionUID = 1L;

    public AuthException(String message) {
        super(message);
    }
}
