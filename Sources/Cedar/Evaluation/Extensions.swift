// STUB: replaced by the evaluator. Declares the API the other parts build against.

/// Cedar's extension functions by name (`decimal`, `ip`, `datetime`, `duration`, and the
/// methods, receiver first), shared by the evaluator and the entity-JSON `__extn` escape.
public enum Extensions {
    public static func call(_ name: String, _ arguments: [Value]) throws(EvaluationError) -> Value {
        throw .extensionError("the Cedar extension functions are not built yet")
    }
}
