package ai.emaspark.config;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * pycls-style configuration: a nested YAML file ({@code OPTIM: {BASE_LR: 0.1}}) merged over the
 * defaults, then {@code KEY VALUE} overrides from the command line, then validation. Every problem
 * is a {@link ConfigException} with one line that names the key.
 */
public final class ConfigLoader {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private ConfigLoader() {}

    /** Merges {@code yamlText} (may be empty) and the overrides over the defaults. */
    public static Config load(String yamlText, String source, List<String> overrides) {
        Map<String, Object> values = new LinkedHashMap<>();
        for (ConfigKey key : ConfigSchema.keys()) {
            values.put(key.name(), key.defaultValue());
        }
        mergeYaml(values, yamlText, source);
        mergeOverrides(values, overrides);
        Config config = new Config(values);
        ConfigValidator.validate(config);
        return config;
    }

    private static void mergeYaml(Map<String, Object> values, String yamlText, String source) {
        if (yamlText == null || yamlText.isBlank()) {
            return;
        }
        Object tree;
        try {
            tree = YAML.readValue(yamlText, Object.class);
        } catch (JacksonException e) {
            throw new ConfigException(
                    "config file " + source + " is not valid YAML: " + e.getOriginalMessage().split("\n")[0]);
        }
        if (tree == null) {
            return;
        }
        if (!(tree instanceof Map<?, ?> map)) {
            throw new ConfigException("config file " + source + " must hold a mapping of keys (KEY: value)");
        }
        flatten("", map, values, source);
    }

    private static void flatten(String prefix, Map<?, ?> node, Map<String, Object> values, String source) {
        for (Map.Entry<?, ?> entry : node.entrySet()) {
            String name = prefix + entry.getKey();
            if (entry.getValue() instanceof Map<?, ?> child && ConfigSchema.get(name) == null) {
                flatten(name + ".", child, values, source);
            } else {
                set(values, name, entry.getValue(), "in " + source);
            }
        }
    }

    private static void mergeOverrides(Map<String, Object> values, List<String> overrides) {
        if (overrides.size() % 2 != 0) {
            throw new ConfigException(
                    "overrides come in KEY VALUE pairs; '" + overrides.get(overrides.size() - 1) + "' has no value");
        }
        for (int i = 0; i < overrides.size(); i += 2) {
            String key = overrides.get(i);
            String text = overrides.get(i + 1);
            set(values, key, parseValue(key, text), "on the command line");
        }
    }

    private static Object parseValue(String key, String text) {
        ConfigKey spec = ConfigSchema.get(key);
        if (spec != null && spec.type() == ConfigKey.Type.STRING) {
            return text; // a path like hdfs://nn:8020/x stays as typed
        }
        try {
            Object parsed = YAML.readValue(text, Object.class);
            return parsed == null ? text : parsed;
        } catch (JacksonException e) {
            return text;
        }
    }

    private static void set(Map<String, Object> values, String name, Object value, String where) {
        ConfigKey spec = ConfigSchema.get(name);
        if (spec == null) {
            throw new ConfigException(
                    "unknown config key " + name + " " + where + " (did you mean " + ConfigSchema.nearest(name) + "?)");
        }
        values.put(name, spec.coerce(value));
    }
}
