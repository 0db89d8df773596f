//! Option negotiation by the Q method of RFC 1143, for both sides of every option.
//!
//! Why the Q method: the naive "answer every WILL with DO" loops forever with a peer doing the
//! same, and a peer repeating a request must not get a second answer. With one small state per
//! option and side, an answer is sent only when the state changes, requests we made are told
//! apart from requests the peer made, and unknown options are refused once.
//!
//! "Us" is what this server performs (the peer's DO/DONT; our WILL/WONT); "him" is what the
//! client performs (the peer's WILL/WONT; our DO/DONT).
//!
//! The server only ever asks to *enable* options (its greeting); it never asks to disable one.
//! RFC 1143's WANTNO state and its queue bits exist only for a side that asks to disable, so
//! they are left out: with them unreachable, the table below is the complete Q method for us.

use super::codes::{DO, DONT, IAC, WILL, WONT};

/// Negotiation state of one side of one option (RFC 1143 section 7, without WANTNO/queue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Q {
    #[default]
    No,
    Yes,
    /// We asked to enable and await the answer.
    WantYes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// Options this server performs.
    Us,
    /// Options the client performs.
    Him,
}

/// What receiving one negotiation command led to.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// The three bytes to send back, if any.
    pub reply: Option<[u8; 3]>,
    /// The option became enabled (`Some(true)`) or disabled (`Some(false)`).
    pub change: Option<bool>,
}

#[derive(Debug)]
pub(crate) struct OptionTable {
    us: [Q; 256],
    him: [Q; 256],
}

impl OptionTable {
    pub(crate) fn new() -> Self {
        Self {
            us: [Q::No; 256],
            him: [Q::No; 256],
        }
    }

    pub(crate) fn enabled(&self, side: Side, option: u8) -> bool {
        self.slot(side, option) == Q::Yes
    }

    fn slot(&self, side: Side, option: u8) -> Q {
        match side {
            Side::Us => self.us[option as usize],
            Side::Him => self.him[option as usize],
        }
    }

    fn slot_mut(&mut self, side: Side, option: u8) -> &mut Q {
        match side {
            Side::Us => &mut self.us[option as usize],
            Side::Him => &mut self.him[option as usize],
        }
    }

    /// We want `option` enabled on `side`: the command to send, if one is needed now.
    pub(crate) fn request_enable(&mut self, side: Side, option: u8) -> Option<[u8; 3]> {
        let (agree, _) = verbs(side);
        let q = self.slot_mut(side, option);
        if *q == Q::No {
            *q = Q::WantYes;
            Some([IAC, agree, option])
        } else {
            None
        }
    }

    /// The peer sent `verb option`; `acceptable` says whether we would agree to enable it.
    /// Verbs other than WILL/WONT/DO/DONT are ignored.
    pub(crate) fn receive(&mut self, verb: u8, option: u8, acceptable: bool) -> Outcome {
        let (side, positive) = match verb {
            WILL => (Side::Him, true),
            WONT => (Side::Him, false),
            DO => (Side::Us, true),
            DONT => (Side::Us, false),
            _ => return Outcome::default(),
        };
        let (agree, refuse) = verbs(side);
        let q = self.slot_mut(side, option);
        let mut outcome = Outcome::default();
        match (*q, positive) {
            (Q::No, true) if acceptable => {
                *q = Q::Yes;
                outcome.reply = Some([IAC, agree, option]);
                outcome.change = Some(true);
            }
            (Q::No, true) => outcome.reply = Some([IAC, refuse, option]),
            // The answer to our request: agreed, nothing to send back.
            (Q::WantYes, true) => {
                *q = Q::Yes;
                outcome.change = Some(true);
            }
            // The answer to our request: refused, nothing to send back.
            (Q::WantYes, false) => *q = Q::No,
            (Q::Yes, false) => {
                *q = Q::No;
                outcome.reply = Some([IAC, refuse, option]);
                outcome.change = Some(false);
            }
            // No change of state: never answered (this is what prevents loops).
            (Q::Yes, true) | (Q::No, false) => {}
        }
        outcome
    }
}

/// (agree, refuse) verbs we send for a side.
fn verbs(side: Side) -> (u8, u8) {
    match side {
        Side::Us => (WILL, WONT),
        Side::Him => (DO, DONT),
    }
}

#[cfg(test)]
mod tests {
    use super::super::codes::opt;
    use super::*;

    #[test]
    fn unsolicited_will_of_a_supported_option_is_agreed_once() {
        let mut t = OptionTable::new();
        let first = t.receive(WILL, opt::NAWS, true);
        assert_eq!(first.reply, Some([IAC, DO, opt::NAWS]));
        assert_eq!(first.change, Some(true));
        // Repeating WILL does not change state: no second DO (loop prevention).
        assert_eq!(t.receive(WILL, opt::NAWS, true), Outcome::default());
        assert!(t.enabled(Side::Him, opt::NAWS));
    }

    #[test]
    fn answer_to_our_request_is_not_answered_again() {
        let mut t = OptionTable::new();
        assert_eq!(
            t.request_enable(Side::Him, opt::TTYPE),
            Some([IAC, DO, opt::TTYPE])
        );
        // Asking twice sends nothing more.
        assert_eq!(t.request_enable(Side::Him, opt::TTYPE), None);
        let o = t.receive(WILL, opt::TTYPE, true);
        assert_eq!(o.reply, None);
        assert_eq!(o.change, Some(true));
    }

    #[test]
    fn refusal_of_our_offer_is_not_acknowledged() {
        let mut t = OptionTable::new();
        t.request_enable(Side::Us, opt::GMCP);
        assert_eq!(t.receive(DONT, opt::GMCP, true), Outcome::default());
        assert!(!t.enabled(Side::Us, opt::GMCP));
        // A later DO from the client is a fresh request and is agreed.
        assert_eq!(t.receive(DO, opt::GMCP, true).reply, Some([IAC, WILL, opt::GMCP]));
    }

    #[test]
    fn unknown_options_are_refused_once_per_request() {
        let mut t = OptionTable::new();
        assert_eq!(t.receive(DO, 99, false).reply, Some([IAC, WONT, 99]));
        assert_eq!(t.receive(WILL, 99, false).reply, Some([IAC, DONT, 99]));
        // Negative commands for a disabled option are never answered.
        assert_eq!(t.receive(DONT, 99, false), Outcome::default());
        assert_eq!(t.receive(WONT, 99, false), Outcome::default());
    }

    #[test]
    fn disabling_an_enabled_option_is_acknowledged_once() {
        let mut t = OptionTable::new();
        t.receive(DO, opt::EOR, true);
        let o = t.receive(DONT, opt::EOR, true);
        assert_eq!(o.reply, Some([IAC, WONT, opt::EOR]));
        assert_eq!(o.change, Some(false));
        assert_eq!(t.receive(DONT, opt::EOR, true), Outcome::default());
    }
}
