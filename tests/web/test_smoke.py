"""The main pages answer for a signed-in employee."""


def test_inbox_lists_first_task_after_registration(acme, login, complaint_data):
    service = login(acme.email("service"))
    response = service.post("/complaints/new", complaint_data, token_from="/complaints/new")
    assert response.status_code == 303
    page = service.get("/").get_data(as_text=True)
    assert "Check validity" in page or "判定投诉是否成立" in page
