package ai.emaspark.config;

/** A configuration problem, told in one line that names the key and what to do. */
public final class ConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ConfigException(String message) {
        super(message);
    }
}
