from scans import permissions


def roles(request):
    user = request.user
    return {
        "can_upload": permissions.can_upload(user) if user.is_authenticated else False,
        "sees_all_scans": permissions.sees_all_scans(user) if user.is_authenticated else False,
        "can_review_scans": permissions.can_review(user) if user.is_authenticated else False,
    }
