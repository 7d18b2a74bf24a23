package ai.emaspark.config;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A resolved, validated run configuration: every known key with a typed value. Immutable. */
public final class Config implements Serializable {
    private static final long serialVersionUID = 1L;

    private final LinkedHashMap<String, Object> values;

    Config(Map<String, Object> values) {
        this.values = new LinkedHashMap<>(values);
    }

    /** The defaults alone. */
    public static Config defaults() {
        Map<String, Object> values = new LinkedHashMap<>();
        for (ConfigKey key : ConfigSchema.keys()) {
            values.put(key.name(), key.defaultValue());
        }
        return new Config(values);
    }

    public int getInt(String key) {
        return (Integer) value(key);
    }

    public double getFloat(String key) {
        return (Double) value(key);
    }

    public boolean getBool(String key) {
        return (Boolean) value(key);
    }

    public String getString(String key) {
        return (String) value(key);
    }

    @SuppressWarnings("unchecked")
    public List<Double> getFloatList(String key) {
        return (List<Double>) value(key);
    }

    @SuppressWarnings("unchecked")
    public List<Integer> getIntList(String key) {
        return (List<Integer>) value(key);
    }

    /** A copy with one key changed (validated like an override). */
    public Config with(String key, Object value) {
        Map<String, Object> copy = new LinkedHashMap<>(values);
        ConfigKey spec = known(key);
        copy.put(key, spec.coerce(value));
        return new Config(copy);
    }

    /** The typed value of any key (Integer, Double, Boolean, String or a List of them). */
    public Object value(String key) {
        known(key);
        return values.get(key);
    }

    private static ConfigKey known(String key) {
        ConfigKey spec = ConfigSchema.get(key);
        if (spec == null) {
            throw new ConfigException(
                    "unknown config key " + key + " (did you mean " + ConfigSchema.nearest(key) + "?)");
        }
        return spec;
    }

    /** The nested pycls-style YAML of every key, as written to OUT_DIR/config.yaml. */
    public String toYaml() {
        Map<String, Object> nested = new LinkedHashMap<>();
        for (Map.Entry<String, Object> entry : values.entrySet()) {
            putNested(nested, entry.getKey(), entry.getValue());
        }
        try {
            ObjectMapper mapper =
                    new ObjectMapper(new YAMLFactory().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER));
            return mapper.writeValueAsString(nested);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @SuppressWarnings("unchecked")
    private static void putNested(Map<String, Object> root, String dotted, Object value) {
        String[] parts = dotted.split("\\.");
        Map<String, Object> node = root;
        for (int i = 0; i < parts.length - 1; i++) {
            node = (Map<String, Object>) node.computeIfAbsent(parts[i], k -> new LinkedHashMap<>());
        }
        node.put(parts[parts.length - 1], value);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Config config && config.values.equals(values);
    }

    @Override
    public int hashCode() {
        return values.hashCode();
    }
}
