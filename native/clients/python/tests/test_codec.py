"""The Python SDK's codec without a server: what encode_request writes reads back through
flatc's own readers, and server frames built with flatc's own builders decode to the typed
values. Run: PYTHONPATH=native/clients/python python3 -m unittest discover -s native/clients/python/tests
"""

import unittest

import flatbuffers
from colo.wire import ClientFrame, Decision, Error, InferenceRequest, Result, ServerFrame, Signal, Usage
from colo.wire.ClientBody import ClientBody
from colo.wire.ServerBody import ServerBody

from colo_client import (
    ColoError,
    Direction,
    ErrorCode,
    FinishReason,
    Message,
    Request,
    Role,
    Sampling,
    TransportError,
    decode_server_frame,
    encode_ping,
    encode_request,
)


def server_frame(b, body_type, body):
    ServerFrame.Start(b)
    ServerFrame.AddBodyType(b, body_type)
    ServerFrame.AddBody(b, body)
    b.Finish(ServerFrame.End(b), file_identifier=b"COLO")
    return bytes(b.Output())


def strings_vector(b, start, values):
    offs = [b.CreateString(v) for v in values]
    start(b, len(offs))
    for o in reversed(offs):
        b.PrependUOffsetTRelative(o)
    return b.EndVector()


class EncodeTest(unittest.TestCase):
    def read_request(self, frame):
        self.assertEqual(frame[4:8], b"COLO")
        f = ClientFrame.ClientFrame.GetRootAs(frame, 0)
        self.assertEqual(f.BodyType(), ClientBody.InferenceRequest)
        r = InferenceRequest.InferenceRequest()
        r.Init(f.Body().Bytes, f.Body().Pos)
        return r

    def test_every_field_reads_back(self):
        frame = encode_request(
            Request(
                id="p1",
                model="m",
                messages=[Message(Role.System, "be brief"), Message(Role.User, "hi")],
                sampling=Sampling(max_tokens=7, seed=0, stop=["\n", "END"]),
                deadline_ms=250,
                priority=9,
                stream=False,
                choices=["up", "down"],
                response_schema="{}",
                tickers=["AAPL"],
            )
        )
        r = self.read_request(frame)
        self.assertEqual((r.Id(), r.Model(), r.Prompt()), (b"p1", b"m", None))
        self.assertEqual(r.MessagesLength(), 2)
        self.assertEqual(r.Messages(0).Role(), Role.System)
        s = r.Sampling()
        self.assertEqual(s.MaxTokens(), 7)
        self.assertEqual(s.Seed(), 0)  # an optional scalar: 0 is written, not dropped
        self.assertAlmostEqual(s.Temperature(), 0.8, places=6)  # absent: the schema default
        self.assertEqual([s.Stop(i) for i in range(s.StopLength())], [b"\n", b"END"])
        self.assertEqual((r.DeadlineMs(), r.Priority(), r.Stream()), (250, 9, False))
        self.assertEqual([r.Choices(i) for i in range(r.ChoicesLength())], [b"up", b"down"])
        self.assertEqual((r.ResponseSchema(), r.Tickers(0)), (b"{}", b"AAPL"))

    def test_bad_input_is_refused_before_sending(self):
        cases = [
            (Request(id="x", prompt="p", sampling=Sampling(temperature=3)), "sampling.temperature"),
            (Request(id="x"), "prompt"),
            (Request(id="", prompt="p"), "id"),
            (Request(id="x", prompt="p", priority=300), "priority"),
        ]
        for req, field in cases:
            with self.assertRaises(ColoError) as cm:
                encode_request(req)
            self.assertEqual((cm.exception.code, cm.exception.field), (ErrorCode.INVALID_ARGUMENT, field))
        # check=False leaves value validation to the server; unencodable integers still fail.
        self.assertEqual(self.read_request(encode_request(cases[0][0], check=False)).Sampling().Temperature(), 3)

    def test_ping(self):
        f = ClientFrame.ClientFrame.GetRootAs(encode_ping(2**64 - 1), 0)
        self.assertEqual(f.BodyType(), ClientBody.Ping)


class DecodeTest(unittest.TestCase):
    def test_result_with_signals_choices_and_cost(self):
        b = flatbuffers.Builder(256)
        rid, text, choice = b.CreateString("r1"), b.CreateString("bearish"), b.CreateString("down")
        ticker, label = b.CreateString("TSLA"), b.CreateString("bearish")
        Signal.Start(b)
        Signal.AddTicker(b, ticker)
        Signal.AddDirection(b, -1)
        Signal.AddScore(b, -0.5)
        Signal.AddConfidence(b, 0.5)
        Signal.AddLabel(b, label)
        sig = Signal.End(b)
        Result.StartSignalsVector(b, 1)
        b.PrependUOffsetTRelative(sig)
        sigs = b.EndVector()
        Result.StartChoiceProbsVector(b, 2)
        b.PrependFloat32(0.75)
        b.PrependFloat32(0.25)
        probs = b.EndVector()
        dticker, dchoice = b.CreateString("AAPL"), b.CreateString("up")
        Decision.StartChoiceProbsVector(b, 2)
        b.PrependFloat32(0.125)
        b.PrependFloat32(0.875)
        dprobs = b.EndVector()
        Decision.Start(b)
        Decision.AddTicker(b, dticker)
        Decision.AddChoice(b, dchoice)
        Decision.AddChoiceProbs(b, dprobs)
        dec = Decision.End(b)
        Result.StartDecisionsVector(b, 1)
        b.PrependUOffsetTRelative(dec)
        decisions = b.EndVector()
        Usage.Start(b)
        Usage.AddPromptTokens(b, 3)
        Usage.AddCachedTokens(b, 2)
        usage = Usage.End(b)
        Result.Start(b)
        Result.AddId(b, rid)
        Result.AddText(b, text)
        Result.AddFinishReason(b, FinishReason.Length)
        Result.AddUsage(b, usage)
        Result.AddSignals(b, sigs)
        Result.AddChoice(b, choice)
        Result.AddChoiceProbs(b, probs)
        Result.AddCostMicros(b, 42)
        Result.AddDecisions(b, decisions)
        r = decode_server_frame(server_frame(b, ServerBody.Result, Result.End(b)))
        self.assertEqual((r.id, r.text, r.finish_reason, r.usage.prompt_tokens), ("r1", "bearish", FinishReason.Length, 3))
        self.assertEqual(r.usage.cached_tokens, 2)
        self.assertEqual((r.signals[0].ticker, r.signals[0].direction), ("TSLA", Direction.BEARISH))
        self.assertEqual((r.choice, r.choice_probs, r.cost_micros), ("down", [0.25, 0.75], 42))
        self.assertEqual(len(r.decisions), 1)
        d = r.decisions[0]
        self.assertEqual((d.ticker, d.choice, d.choice_probs), ("AAPL", "up", [0.875, 0.125]))

    def test_error_with_partial_usage_and_unknown_codes(self):
        b = flatbuffers.Builder(128)
        rid, msg, partial = b.CreateString("r2"), b.CreateString("taken"), b.CreateString(" Once upon")
        Usage.Start(b)
        Usage.AddCompletionTokens(b, 5)
        usage = Usage.End(b)
        Error.Start(b)
        Error.AddId(b, rid)
        Error.AddCode(b, ErrorCode.PREEMPTED)
        Error.AddMessage(b, msg)
        Error.AddRetryAfterMs(b, 40)
        Error.AddUsage(b, usage)
        Error.AddPartialText(b, partial)
        e = decode_server_frame(server_frame(b, ServerBody.Error, Error.End(b)))
        self.assertIsInstance(e, ColoError)
        self.assertEqual((e.code, e.id, e.retry_after_ms), (ErrorCode.PREEMPTED, "r2", 40))
        self.assertEqual((e.usage.completion_tokens, e.partial_text), (5, " Once upon"))
        b = flatbuffers.Builder(64)
        Error.Start(b)
        Error.AddCode(b, 999)  # a newer server's code reads as INTERNAL
        self.assertEqual(decode_server_frame(server_frame(b, ServerBody.Error, Error.End(b))).code, ErrorCode.INTERNAL)

    def test_not_a_colo_frame(self):
        with self.assertRaises(TransportError) as cm:
            decode_server_frame(b"\x01\x02\x03\x04\x05\x06\x07\x08\x09")
        self.assertEqual(cm.exception.kind, "PROTOCOL")

    def test_error_codes_match_the_schema(self):
        self.assertEqual(ErrorCode.INTERNAL, 0)
        self.assertEqual(ErrorCode["UNAVAILABLE"], ErrorCode.PREEMPTED + 1)


if __name__ == "__main__":
    unittest.main()
