//! What happened to a failure on its way up, recorded by the interpreter and turned into
//! student words later (`messages`).

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Event {
    /// A failing command before `|` lost its status (no pipefail).
    Pipe {
        line: usize,
        hidden: String,
        pipeline: String,
    },
    /// `|| handler` turned a failure into success.
    OrSwallow {
        line: usize,
        handler: String,
    },
    /// A failure was passed over because errexit was off.
    NoErrexit {
        line: usize,
        command: String,
        origin: String,
    },
    /// errexit was ignored because of a condition context.
    Ignored {
        line: usize,
        command: String,
        context_line: usize,
    },
    /// A status test passed with a bad status, or could not be evaluated.
    TestPasses {
        line: usize,
        test: String,
        code: String,
    },
    TestUnknown {
        line: usize,
        test: String,
    },
    /// `local x=$(...)`: the builtin's own status hides the substitution's.
    Masked {
        line: usize,
        builtin: String,
    },
    /// `$(...)` inside a command's arguments: the command's status hides it.
    SubstLost {
        line: usize,
        command: String,
    },
    /// A background job (`&`) loses its status.
    Background {
        line: usize,
        command: String,
    },
    /// `exit`/`return` with success reached.
    SuccessExit {
        line: usize,
        text: String,
    },
    /// Script invoked through an EXIT trap that runs `exit`.
    Trap {
        line: usize,
        text: String,
    },
}
