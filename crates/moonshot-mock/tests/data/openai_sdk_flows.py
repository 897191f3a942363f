"""The flows of Moonshot's docs, run with the official OpenAI Python SDK against a local server.

Usage: python3 openai_sdk_flows.py BASE_URL (the server's root; the SDK is given BASE_URL/v1).
Prints one line per flow; any failure raises, and the exit code is non-zero.
"""
import sys, time, json, pathlib
from openai import OpenAI
base = sys.argv[1].rstrip('/') + '/v1'
client = OpenAI(api_key="sk-test", base_url=base)
import tempfile
work = pathlib.Path(tempfile.mkdtemp())
p = work / 'note.md'; p.write_text("# Note\n\nKimi reads long documents and answers questions about them.\n")
f = client.files.create(file=p, purpose="file-extract")
for _ in range(50):
    f = client.files.retrieve(f.id)
    if f.status not in ("processing",): break
    time.sleep(0.1)
content = client.files.content(file_id=f.id).text
print("file", f.id, f.status, json.loads(content)["content"][:40])
print("listed", any(x.id == f.id for x in client.files.list().data))
for model in ["kimi-k3", "kimi-k2.6", "kimi-k2.7-code", "moonshot-v1-8k", "kimi-k2-turbo-preview"]:
    r = client.chat.completions.create(model=model, messages=[{"role": "system", "content": content}, {"role": "user", "content": "What does Kimi read?"}])
    print(model, "whole:", r.choices[0].message.content[:50].replace("\n"," "), r.usage.total_tokens)
    s = client.chat.completions.create(model=model, messages=[{"role": "system", "content": content}, {"role": "user", "content": "What does Kimi read?"}], stream=True)
    text = "".join((c.choices[0].delta.content or "") for c in s if c.choices)
    assert text == r.choices[0].message.content, (text, r.choices[0].message.content)
    print(model, "stream:", text[:50].replace("\n"," "))
r = client.chat.completions.create(model="kimi-k3", messages=[{"role":"system","tools":[{"type":"function","function":{"name":"get_weather","description":"weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]},{"role":"user","content":"weather in Paris?"}], extra_body={"reasoning_effort":"high"}, max_completion_tokens=512, tool_choice="required")
assert r.choices[0].finish_reason == "tool_calls"
print("k3 dynamic tools:", r.choices[0].finish_reason, r.choices[0].message.tool_calls[0].function.name)
lines = "\n".join(json.dumps({"custom_id": f"q{i}", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "kimi-k3", "messages": [{"role": "user", "content": f"question {i}"}]}}) for i in range(3))
bp = work / 'batch.jsonl'; bp.write_text(lines + "\n")
bf = client.files.create(file=bp, purpose="batch")
b = client.batches.create(input_file_id=bf.id, endpoint="/v1/chat/completions", completion_window="24h")
for _ in range(100):
    b = client.batches.retrieve(b.id)
    if b.status in ("completed", "failed", "expired", "cancelled"): break
    time.sleep(0.1)
out = client.files.content(b.output_file_id).text
assert b.status == "completed" and len(out.splitlines()) == 3
print("batch", b.status, b.request_counts.completed, len(out.splitlines()))
print("batches listed", len(client.batches.list().data))
client.files.delete(f.id)
print("deleted", not any(x.id == f.id for x in client.files.list().data))
print("models", [m.id for m in client.models.list().data][:4])
