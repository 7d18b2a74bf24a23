package ai.emaspark.config;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/** One known key: its pycls name, its type and its default (pycls's, where pycls has the key). */
public record ConfigKey(String name, Type type, Object defaultValue, String help) implements Serializable {

    public enum Type {
        INT("an integer"),
        FLOAT("a number"),
        BOOL("True or False"),
        STRING("a string"),
        FLOAT_LIST("a list of numbers, e.g. [0, 30, 60]"),
        INT_LIST("a list of integers, e.g. [1, 2, 7, 12]");

        final String description;

        Type(String description) {
            this.description = description;
        }
    }

    /** Converts a parsed YAML value to this key's type, or fails naming the key and the value. */
    Object coerce(Object value) {
        if (value instanceof String text && type != Type.STRING) {
            // YAML 1.1 reads 5e-5 or "[0, 30]" as strings; yacs evaluates them as literals, so do we.
            value = parseLiteral(text.trim());
        }
        switch (type) {
            case INT:
                if (value instanceof Integer || value instanceof Long) {
                    return ((Number) value).intValue();
                }
                break;
            case FLOAT:
                if (value instanceof Number) {
                    return ((Number) value).doubleValue();
                }
                break;
            case BOOL:
                if (value instanceof Boolean) {
                    return value;
                }
                break;
            case STRING:
                if (value instanceof String) {
                    return value;
                }
                if (value instanceof Number || value instanceof Boolean) {
                    return String.valueOf(value);
                }
                break;
            case FLOAT_LIST:
                if (value instanceof List<?> list) {
                    List<Double> out = new ArrayList<>();
                    for (Object item : list) {
                        if (!(item instanceof Number)) {
                            throw wrongType(value);
                        }
                        out.add(((Number) item).doubleValue());
                    }
                    return List.copyOf(out);
                }
                break;
            case INT_LIST:
                if (value instanceof List<?> list) {
                    List<Integer> out = new ArrayList<>();
                    for (Object item : list) {
                        if (!(item instanceof Integer || item instanceof Long)) {
                            throw wrongType(value);
                        }
                        out.add(((Number) item).intValue());
                    }
                    return List.copyOf(out);
                }
                break;
            default:
                break;
        }
        throw wrongType(value);
    }

    private static Object parseLiteral(String text) {
        if (text.equals("True") || text.equals("true")) {
            return Boolean.TRUE;
        }
        if (text.equals("False") || text.equals("false")) {
            return Boolean.FALSE;
        }
        if (text.startsWith("[") && text.endsWith("]")) {
            List<Object> items = new ArrayList<>();
            String inner = text.substring(1, text.length() - 1).trim();
            if (!inner.isEmpty()) {
                for (String part : inner.split(",")) {
                    items.add(parseLiteral(part.trim()));
                }
            }
            return items;
        }
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException notInteger) {
            try {
                return Double.parseDouble(text);
            } catch (NumberFormatException notNumber) {
                return text;
            }
        }
    }

    private ConfigException wrongType(Object value) {
        return new ConfigException(
                "config key " + name + " expects " + type.description + ", got '" + value + "'"
                        + " (default: " + defaultValue + ")");
    }
}
